package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/test/harness"
)

// `ferry up` of the dockerfile template against `ferry serve --runtime
// containerd`: buildah runs every step of the handler's Dockerfile (a RUN
// writes the file the function answers with), offline, from a base image
// made here; without buildah on PATH the build says what to install, and
// the process runtime refuses the RUN rather than dropping it.
func TestContainerdDockerfile(t *testing.T) {
	harness.RequireContainerd(t)
	harness.RequireBuildah(t)
	work, err := os.MkdirTemp("", "ferry-e2ed-") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	ctd := harness.StartContainerd(t, work)
	const bridge, subnet = "ferrye2e1", "198.18.214.0/24"
	log := &harness.LockedBuffer{}
	f, err := harness.Start(harness.Options{DataDir: filepath.Join(work, "data"), Log: log, Args: []string{
		"--runtime", "containerd", "--containerd-address", ctd.Sock, "--containerd-namespace", ctrdNS + "-df",
		"--containerd-subnet", subnet, "--containerd-bridge", bridge,
	}})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(func() {
		f.Stop()
		harness.RemoveBridge(bridge)
		if t.Failed() {
			t.Logf("ferry log:\n%s", log.String())
		}
	})

	wd, err := harness.GoBinary("watchdog", "./cmd/watchdog")
	if err != nil {
		t.Fatal(err)
	}
	base := harness.BusyboxBase(t, "ferry-test/busybox:1", map[string]string{"usr/bin/fwatchdog": wd})
	dir := filepath.Join(work, "stack")
	writeFile(t, filepath.Join(dir, "stack.yml"), "version: 1.0\nprovider:\n  name: openfaas\nfunctions:\n"+
		"  dfn:\n    lang: dockerfile\n    handler: ./dfn\n    image: ferry-test/dfn:1\n")
	writeFile(t, filepath.Join(dir, "dfn", "Dockerfile"), "FROM oci:"+base+":ferry-test/busybox:1\n"+
		"WORKDIR /home/app\nCOPY . .\n"+
		"RUN echo \"made by RUN in $(pwd)\" > /home/app/built.txt\n"+
		"USER 65534\nENV fprocess=\"cat /home/app/built.txt\" mode=\"streaming\"\nCMD [\"fwatchdog\"]\n")

	cache := filepath.Join(work, "cache")
	ferry := ferryIn(t, f, dir, "XDG_CACHE_HOME="+cache)
	// No buildah on PATH: the build stops and says what to install.
	noBuildah := filepath.Join(work, "nobuildah")
	if err := os.MkdirAll(noBuildah, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := ferryIn(t, f, dir, "PATH="+noBuildah)("up", "--build-network", "none")
	if err == nil || !strings.Contains(out, "apt-get install buildah") {
		t.Errorf("ferry up without buildah: %v\n%s\nwant a failure saying apt-get install buildah", err, out)
	}
	if code, _, _ := f.Do("GET", "/system/function/dfn", nil); code != 404 {
		t.Errorf("the failed build deployed dfn anyway (GET answered %d)", code)
	}

	out, err = ferry("up", "--build-network", "none")
	if err != nil || !strings.Contains(out, "imported docker.io/ferry-test/dfn:1") {
		t.Fatalf("ferry up: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := f.WaitReady(ctx, "dfn", ns, 1); err != nil {
		t.Fatal(err)
	}
	if c, _, body := invoke(t, f, "POST", "dfn", "x", nil); c != 200 || body != "made by RUN in /home/app\n" {
		t.Errorf("dfn answered %d %q; want the file its RUN step wrote", c, body)
	}
	if left, _ := filepath.Glob(filepath.Join(cache, "ferry", "buildah", "*")); len(left) > 0 {
		t.Errorf("buildah storage left behind: %v", left)
	}
	if code, b, _ := f.Do("DELETE", "/system/functions", map[string]any{"functionName": "dfn"}); code/100 != 2 {
		t.Fatalf("remove dfn: %d %s", code, b)
	}

	// The process runtime cannot run the RUN step: ferry up says so.
	pf, err := harness.Start(harness.Options{DataDir: filepath.Join(work, "pdata")})
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Stop()
	out, err = ferryIn(t, pf, dir)("up")
	if err == nil || !strings.Contains(out, "RUN cannot run on the process runtime") || !strings.Contains(out, "--runtime containerd") {
		t.Errorf("ferry up of a RUN step to the process runtime: %v\n%s\nwant a refusal naming --runtime containerd", err, out)
	}
}

// writeFile writes content at path, making its folder.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
