package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/ferryfaas/ferry/builder"
	"github.com/ferryfaas/ferry/stack"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

func init() { register(newBuildCmd) }

func newBuildCmd() *cobra.Command {
	var (
		file, filter, regex, format, out   string
		templatesDir, watchdog, baseLayout string
		network                            string
		image, push, installDeps           bool
		parallel                           int
	)
	cmd := &cobra.Command{
		Use:   "build",
		Short: "Build the functions of a stack file (artifact, and OCI image without Docker)",
		Long: `Build each function of the stack file from its template, without Docker:

  build/<fn>/         the template with the handler in it (faas-cli's layout)
  build/<fn>.tar.gz   the artifact the process runtime runs (reproducible)

With --image, also assemble an OCI image in Go: the static watchdog at
/usr/bin/fwatchdog and the function at /home/app, on an empty base for Go
functions or on the template's base image (pulled, or read from
--base-layout). It is written as an OCI layout (build/<fn>-image) or a docker
archive (--format docker, build/<fn>-image.tar), and --push sends it to the
registry in the function's image: name. Same input, same digests.

The dockerfile template's image is built from the handler's Dockerfile with
buildah (apt-get install buildah), every step of it. Without --image, a
Dockerfile with RUN or ADD steps is refused: the process runtime runs the
handler folder as it is and cannot honour them.`,
		Example: `  ferry build
  ferry build -f stack.yml --filter 'api-*' --parallel 4
  ferry build --image --format docker          # then: ctr images import build/<fn>-image.tar
  ferry build --push                           # to the registry in image:
  ferry build --image --base-layout ./python-base   # base image from a local OCI layout
  ferry build --install-deps                   # pip/npm install the handler's dependencies`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "oci" && format != "docker" {
				return fmt.Errorf("--format %q is not supported: use oci or docker", format)
			}
			st, err := stack.Load(file, os.LookupEnv)
			if err != nil {
				return err
			}
			fns, err := stack.Filter(st.Functions, filter, regex)
			if err != nil {
				return err
			}
			// Flags are relative to where the user is, not to the stack file.
			for _, p := range []*string{&out, &templatesDir, &baseLayout, &watchdog} {
				if *p != "" {
					if *p, err = filepath.Abs(*p); err != nil {
						return err
					}
				}
			}
			if templatesDir == "" && newPathExists(filepath.Join(st.Dir, "template")) {
				templatesDir = st.Dir // templates pulled next to the stack file win, as in faas-cli
			}
			if parallel < 1 {
				return fmt.Errorf("--parallel %d: give 1 or more", parallel)
			}
			w := &lockedWriter{w: cmd.OutOrStdout()}
			var todo []stack.Function
			for _, fn := range fns {
				if fn.SkipBuild || fn.Lang == "" {
					fmt.Fprintf(w, "[%s] skipped (skip_build or no lang)\n", fn.Name)
					continue
				}
				todo = append(todo, fn)
			}
			if len(todo) == 0 {
				return fmt.Errorf("nothing to build in %s: every selected function has skip_build or no lang", file)
			}
			g, ctx := errgroup.WithContext(cmd.Context())
			g.SetLimit(parallel)
			for _, fn := range todo {
				g.Go(func() error {
					res, err := builder.Build(ctx, builder.Options{
						Function:       fn,
						StackDir:       st.Dir,
						TemplatesDir:   templatesDir,
						OutDir:         out,
						Image:          builder.ImageOptions{Enabled: image || push, Format: format, Push: push, BaseLayout: baseLayout, Network: network},
						WatchdogBinary: watchdog,
						Progress:       w,
						InstallDeps:    installDeps,
					})
					if err != nil {
						if strings.Contains(err.Error(), fn.Name) {
							return fmt.Errorf("build failed: %w", err)
						}
						return fmt.Errorf("%s: build failed: %w", fn.Name, err)
					}
					fmt.Fprintf(w, "%s: artifact %s (%s)\n", fn.Name, res.ArtifactPath, res.ArtifactDigest)
					if res.ImageDigest != "" {
						where := res.ImagePath
						if push {
							where = strings.TrimSpace(where + " pushed to " + fn.Image)
						}
						fmt.Fprintf(w, "%s: image %s (%s)\n", fn.Name, where, res.ImageDigest)
					}
					return nil
				})
			}
			return g.Wait()
		},
	}
	fs := cmd.Flags()
	fs.StringVarP(&file, "yaml", "f", "stack.yml", "stack file")
	fs.StringVar(&filter, "filter", "", "only functions whose names match this glob, e.g. 'api-*'")
	fs.StringVar(&regex, "regex", "", "only functions whose names match this regular expression")
	fs.IntVar(&parallel, "parallel", 1, "build this many functions at once")
	fs.BoolVar(&image, "image", false, "also build an OCI image (no Docker needed)")
	fs.StringVar(&format, "format", "oci", "image output: oci (layout folder) or docker (archive for docker load / ctr images import)")
	fs.BoolVar(&push, "push", false, "build the image and push it to the function's image: name")
	fs.StringVar(&out, "out", "", "build output folder (default: build, next to the stack file)")
	fs.StringVar(&out, "build-dir", "", "same as --out")
	_ = fs.MarkHidden("build-dir")
	fs.StringVar(&templatesDir, "templates-dir", "", "folder of template/<lang>/ folders tried before the built-in templates")
	fs.StringVar(&watchdog, "watchdog", "", "static watchdog binary for images (default: $FERRY_WATCHDOG, then watchdog beside ferry, then fwatchdog on PATH)")
	fs.BoolVar(&installDeps, "install-deps", false, "run pip (function/requirements.txt) or npm (package.json dependencies) into the build; needs their registry")
	fs.StringVar(&baseLayout, "base-layout", "", "OCI layout folder holding the base image of interpreted languages (instead of pulling it)")
	fs.StringVar(&network, "build-network", "", "network of a Dockerfile's RUN steps under buildah: none, host or private (default: buildah's own, private)")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"oci", "docker"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// lockedWriter keeps lines of builds running in parallel whole.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
