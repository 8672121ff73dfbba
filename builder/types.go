// Package builder turns a stack.yml function into what Ferry runs: a
// reproducible artifact (gzip'd tar) for the process runtime and, on request,
// an OCI image assembled in Go (no Docker) holding the static watchdog and
// the function, or built from the handler's own Dockerfile with buildah.
package builder

import (
	"io"

	"github.com/ferryfaas/ferry/stack"
)

// Options says what to build and where.
type Options struct {
	// Function is the stack.yml entry (Name, Lang, Handler, ...).
	Function stack.Function
	// StackDir is the folder of the stack file; Handler is relative to it.
	StackDir string
	// TemplatesDir holds template/<lang>/ folders; "" means the templates
	// embedded in the ferry binary (package templates).
	TemplatesDir string
	// OutDir is where build/<fn>/ and the artifact go; "" means "build"
	// (relative to StackDir).
	OutDir string
	// Image asks for an OCI image as well.
	Image ImageOptions
	// WatchdogBinary is the static fwatchdog copied into images.
	WatchdogBinary string
	// Progress receives one line per build step; nil discards.
	Progress io.Writer
	// ProcessArtifact says the artifact will run on the process runtime
	// even though an image is built too (ferry up --push), so Dockerfile
	// steps it cannot honour are refused as they are without an image.
	ProcessArtifact bool
	// InstallDeps runs pip (requirements.txt) or npm (package.json
	// dependencies) for the handler. Off by default: builds are offline.
	InstallDeps bool
}

// RuntimeLabel selects a function's runtime (provider/process.RuntimeLabel,
// not imported: the builder does not link the provider).
const RuntimeLabel = "com.ferryfaas.runtime"

// ImageOptions controls the OCI image build.
type ImageOptions struct {
	Enabled bool
	// Format is "oci" (an OCI layout folder) or "docker" (a docker archive
	// that `docker load` and `ctr images import` read).
	Format string
	// Output is the path of the layout folder or archive; "" means
	// OutDir/<fn>-image(.tar).
	Output string
	// Push sends the image to the registry named in Function.Image.
	Push bool
	// BaseLayout is a local OCI layout holding the template's base image;
	// "" means pull it from its registry.
	BaseLayout string
	// Network is buildah's --network for a Dockerfile's RUN steps: "none",
	// "host" or "private"; "" is buildah's default (a network of its own).
	Network string
}

// Result is what Build produced.
type Result struct {
	// ArtifactPath is the .tar.gz the process runtime extracts into the
	// function's working directory; ArtifactDigest is "sha256:<hex>" of its
	// bytes.
	ArtifactPath, ArtifactDigest string
	// EnvProcess is the command (relative to the extracted artifact) and
	// EnvVars the watchdog settings (mode, upstream_url, ...) it needs.
	EnvProcess string
	EnvVars    map[string]string
	// Labels are what the template needs deployed with the function (the
	// runtime it runs on); the stack's own labels win.
	Labels map[string]string
	// ImagePath is the layout folder or archive written (empty when pushed
	// only) and ImageDigest the manifest digest "sha256:<hex>".
	ImagePath, ImageDigest string
}
