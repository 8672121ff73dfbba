package cli

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/builder"
	"github.com/ferryfaas/ferry/client"
	"github.com/ferryfaas/ferry/stack"
	"github.com/spf13/cobra"
)

func init() { register(newUpCmd) }

// ArtifactAnnotation carries the digest of the uploaded build artifact the
// process runtime runs.
const ArtifactAnnotation = "com.ferryfaas.artifact"

func newUpCmd() *cobra.Command {
	var r remote
	var f deployFlags
	var w waitFlags
	var (
		skipBuild, push, noDeps, watch bool
		templatesDir, outDir, wd       string
		network                        string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Build, upload and deploy the functions of a stack file",
		Long: `For each function of the stack file: build it from its template (no Docker
needed; the handler's requirements.txt or package.json dependencies are
installed into the build unless --skip-deps), upload the artifact to the
gateway (skipped when the gateway already has it), deploy it and wait until
it is ready. A function whose code and spec did not change keeps its running
replicas. Functions with skip_build, or without a lang, are
deployed from their image as ` + "`ferry deploy`" + ` does.

Against ` + "`ferry serve --runtime containerd`" + ` each function is built into an
image and imported instead; the dockerfile template's Dockerfile is then
built with buildah (apt-get install buildah), every step of it. The process
runtime runs a Dockerfile's handler folder as it is, so a RUN or ADD step
there is an error rather than dropped.`,
		Example: `  ferry up
  ferry up -f stack.yml --filter 'api-*'
  ferry up --skip-build              # redeploy without building
  ferry up --watch                   # redeploy on every save
  ferry up --env LOG_LEVEL=debug --gateway http://10.0.0.5:8080`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			up := func(only map[string]bool) error {
				return upOnce(cmd, &r, &f, w, upOptions{skipBuild: skipBuild, push: push, noDeps: noDeps,
					templatesDir: templatesDir, outDir: outDir, watchdog: wd, network: network}, only)
			}
			if err := up(nil); err != nil && !watch {
				return err
			} else if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "ferry up: %v\n", err)
			}
			if !watch {
				return nil
			}
			return watchStack(cmd, f.file, up)
		},
	}
	addRemoteFlags(cmd, &r, false)
	f.register(cmd)
	fs := cmd.Flags()
	w.register(fs)
	fs.BoolVar(&skipBuild, "skip-build", false, "deploy without building")
	fs.BoolVarP(&watch, "watch", "w", false, "keep running: rebuild and redeploy a function when its handler folder or the stack file changes (Ctrl+C stops)")
	fs.BoolVar(&noDeps, "skip-deps", false, "do not install the handler's dependencies (requirements.txt, package.json; Go modules are always fetched by go build)")
	fs.BoolVar(&push, "push", false, "also build an OCI image and push it to the function's image name")
	fs.StringVar(&templatesDir, "templates-dir", "", "folder of template/<lang>/ folders (default: the templates built into ferry)")
	fs.StringVar(&outDir, "build-dir", "", "build output folder (default: build, next to the stack file)")
	fs.StringVar(&wd, "watchdog", "", "static watchdog binary for --push images")
	fs.StringVar(&network, "build-network", "", "network of a Dockerfile's RUN steps under buildah: none, host or private (default: buildah's own, private)")
	return cmd
}

// upOptions are up's build settings.
type upOptions struct {
	skipBuild, push, noDeps        bool
	templatesDir, outDir, watchdog string
	network                        string
}

// upOnce builds, uploads and deploys the stack's functions (only those
// named in only, when not nil).
func upOnce(cmd *cobra.Command, r *remote, f *deployFlags, w waitFlags, o upOptions, only map[string]bool) error {
	st, err := stack.Load(f.file, os.LookupEnv)
	if err != nil {
		return err
	}
	fns, err := stack.Filter(st.Functions, f.filter, f.regex)
	if err != nil {
		return err
	}
	if only != nil {
		fns = slices.DeleteFunc(fns, func(fn stack.Function) bool { return !only[fn.Name] })
	}
	c, err := r.client(st.Provider.Gateway)
	if err != nil {
		return err
	}
	// Fail fast on a wrong URL or credentials, before long builds.
	info, err := c.Info(cmd.Context())
	if err != nil {
		return err
	}
	// A gateway running containers takes images, not code artifacts.
	images := info.Provider.Orchestration == "containerd" && !o.push
	out := cmd.OutOrStdout()
	for i, fn := range fns {
		step := fmt.Sprintf("[%d/%d] %s", i+1, len(fns), fn.Name)
		d := stack.Deployment(fn, "")
		if !o.skipBuild && !fn.SkipBuild && fn.Lang != "" {
			fmt.Fprintf(out, "%s: building (%s)\n", step, fn.Lang)
			res, err := builder.Build(cmd.Context(), builder.Options{
				Function:        fn,
				StackDir:        st.Dir,
				TemplatesDir:    o.templatesDir,
				OutDir:          o.outDir,
				Image:           builder.ImageOptions{Enabled: o.push || images, Push: o.push, Format: "oci", Network: o.network},
				ProcessArtifact: !images,
				WatchdogBinary:  o.watchdog,
				InstallDeps:     !o.noDeps,
				Progress:        &prefixWriter{w: out, prefix: "  "},
			})
			if err != nil {
				if strings.Contains(err.Error(), fn.Name) {
					return fmt.Errorf("build failed: %w", err)
				}
				return fmt.Errorf("%s: build failed: %w", fn.Name, err)
			}
			if images {
				err = importBuilt(cmd, c, &d, res, step)
			} else {
				err = uploadBuilt(cmd, c, &d, fn, res, step)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", fn.Name, err)
			}
		} else {
			fmt.Fprintf(out, "%s: not building (image %s)\n", step, d.Image)
		}
		if err := f.apply(&d); err != nil {
			return fmt.Errorf("%s: %v", fn.Name, err)
		}
		if err := deployOne(cmd, c, d, w); err != nil {
			return err
		}
	}
	return nil
}

// uploadBuilt sends the build's code artifact (unless the gateway has it)
// and makes d run it.
func uploadBuilt(cmd *cobra.Command, c *client.Client, d *api.FunctionDeployment, fn stack.Function, res *builder.Result, step string) error {
	out := cmd.OutOrStdout()
	digest, uploaded, err := c.UploadArtifact(cmd.Context(), res.ArtifactPath)
	if err != nil {
		return err
	}
	if res.ArtifactDigest != "" && res.ArtifactDigest != digest {
		return fmt.Errorf("artifact %s changed while uploading (digest %s, built %s): run `ferry up` again", res.ArtifactPath, digest, res.ArtifactDigest)
	}
	if uploaded {
		fmt.Fprintf(out, "%s: uploaded %s\n", step, short(digest))
	} else {
		fmt.Fprintf(out, "%s: gateway already has %s\n", step, short(digest))
	}
	withBuild(d, fn, res, digest)
	return nil
}

// importBuilt sends the built image to a gateway running containers and
// makes d run it. The image's digest goes into an annotation so that new
// code under the same tag still changes the deployment (a rolling update).
func importBuilt(cmd *cobra.Command, c *client.Client, d *api.FunctionDeployment, res *builder.Result, step string) error {
	refs, err := c.ImportImage(cmd.Context(), res.ImagePath)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s: imported %s (%s)\n", step, strings.Join(refs, ", "), short(res.ImageDigest))
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[ImageDigestAnnotation] = res.ImageDigest
	return nil
}

// ImageDigestAnnotation records the digest of the image `ferry up`
// imported for a function.
const ImageDigestAnnotation = "com.ferryfaas.image-digest"

// withBuild puts what the build produced into the deployment: the artifact
// annotation, the template's fprocess unless the stack sets one, and the
// template's env vars and labels under the stack's (the stack wins).
func withBuild(d *api.FunctionDeployment, fn stack.Function, res *builder.Result, digest string) {
	if d.Annotations == nil {
		d.Annotations = map[string]string{}
	}
	d.Annotations[ArtifactAnnotation] = digest
	if fn.FProcess == "" && res.EnvProcess != "" {
		d.EnvProcess = res.EnvProcess
	}
	if len(res.EnvVars) > 0 {
		env := maps.Clone(res.EnvVars)
		maps.Copy(env, d.EnvVars)
		d.EnvVars = env
	}
	if len(res.Labels) > 0 {
		labels := maps.Clone(res.Labels)
		maps.Copy(labels, d.Labels)
		d.Labels = labels
	}
}

// prefixWriter indents each line of build progress.
type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	var sb strings.Builder
	for _, c := range string(b) {
		if !p.mid {
			sb.WriteString(p.prefix)
			p.mid = true
		}
		sb.WriteRune(c)
		if c == '\n' {
			p.mid = false
		}
	}
	if _, err := io.WriteString(p.w, sb.String()); err != nil {
		return 0, err
	}
	return len(b), nil
}

func short(digest string) string {
	if len(digest) > 19 {
		return digest[:19]
	}
	return digest
}
