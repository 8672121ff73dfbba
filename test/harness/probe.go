package harness

import (
	"context"
	"os"
	"path/filepath"

	"github.com/ferryfaas/ferry/builder"
	"github.com/ferryfaas/ferry/stack"
	"github.com/ferryfaas/ferry/templates"
)

// ProbeImage builds the containerd runtime's probe function (its handler
// reports what a container may do) under dir, as `ferry build --image
// --format FORMAT` does, and returns the image's path: a docker archive
// for "docker", an OCI layout directory for "oci".
func ProbeImage(dir, format, ref string) (string, error) {
	wd, err := GoBinary("watchdog", "./cmd/watchdog")
	if err != nil {
		return "", err
	}
	tpl, err := templates.Lookup("", "golang-http")
	if err != nil {
		return "", err
	}
	src := filepath.Join(dir, "src-"+format)
	if err := templates.Scaffold(tpl, filepath.Join(src, "probe")); err != nil {
		return "", err
	}
	h, err := os.ReadFile(filepath.Join(Root(), "provider/containerd/testdata/probe/handler.go"))
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(src, "probe", "handler.go"), h, 0o644); err != nil {
		return "", err
	}
	res, err := builder.Build(context.Background(), builder.Options{
		Function:       stack.Function{Name: "probe", Lang: "golang-http", Handler: "./probe", Image: ref},
		StackDir:       src,
		OutDir:         filepath.Join(dir, "build-"+format),
		Image:          builder.ImageOptions{Enabled: true, Format: format},
		WatchdogBinary: wd,
	})
	if err != nil {
		return "", err
	}
	return res.ImagePath, nil
}
