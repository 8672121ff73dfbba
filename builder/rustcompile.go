package builder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// rustWasmTargets are the names of Rust's WASI preview 1 target, newest
// first: wasm32-wasip1 since Rust 1.78, wasm32-wasi before (Debian 12's
// rustc 1.63 with libstd-rust-dev-wasm32).
var rustWasmTargets = []string{"wasm32-wasip1", "wasm32-wasi"}

// debianRustc is tried after the rustc on PATH (a variable for tests).
var debianRustc = "/usr/bin/rustc"

// errNoRustWasm says what to install when no Rust can build for WASI.
var errNoRustWasm = errors.New("no Rust toolchain with a wasm32-wasip1 (or wasm32-wasi) standard library found: " +
	"install one (Debian/Ubuntu: apt install rustc cargo libstd-rust-dev-wasm32; rustup: rustup target add wasm32-wasip1) " +
	"or set RUSTC to a rustc that has it")

// RustToolchain is a rustc, the cargo that goes with it and the WASI
// target its sysroot has a standard library for.
type RustToolchain struct {
	Rustc, Cargo, Target string
}

// FindRustWasm finds a Rust that builds for WASI preview 1: $RUSTC if
// set, then the rustc on PATH (rustup's, often without a wasm32 std),
// then /usr/bin/rustc (Debian's), the first whose sysroot holds
// lib/rustlib/<target> for wasm32-wasip1 or wasm32-wasi. Its cargo is the
// one in the sysroot's bin (a rustup toolchain, /usr), else beside the
// rustc, else the one on PATH.
func FindRustWasm() (RustToolchain, error) {
	var cands []string
	if r := os.Getenv("RUSTC"); r != "" {
		cands = append(cands, r)
	}
	if r, err := exec.LookPath("rustc"); err == nil {
		cands = append(cands, r)
	}
	cands = append(cands, debianRustc)
	for _, rustc := range cands {
		sysroot, err := rustSysroot(rustc)
		if err != nil {
			continue
		}
		for _, target := range rustWasmTargets {
			if !fileExists(filepath.Join(sysroot, "lib", "rustlib", target, "lib")) {
				continue
			}
			// The rustc of that sysroot itself: a rustup proxy would
			// pick its toolchain again from whatever directory cargo
			// runs in.
			if p := filepath.Join(sysroot, "bin", "rustc"); fileExists(p) {
				rustc = p
			}
			cargo, err := cargoFor(rustc, sysroot)
			if err != nil {
				return RustToolchain{}, err
			}
			return RustToolchain{Rustc: rustc, Cargo: cargo, Target: target}, nil
		}
	}
	return RustToolchain{}, errNoRustWasm
}

func rustSysroot(rustc string) (string, error) {
	out, err := exec.Command(rustc, "--print", "sysroot").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

func cargoFor(rustc, sysroot string) (string, error) {
	for _, p := range []string{filepath.Join(sysroot, "bin", "cargo"), filepath.Join(filepath.Dir(rustc), "cargo")} {
		if fileExists(p) {
			return p, nil
		}
	}
	if p, err := exec.LookPath("cargo"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("found %s but no cargo beside it: install cargo (apt install cargo)", rustc)
}

// compileRustWasm builds dir (a copy of the rust-wasm template with the
// handler crate inside) into dir/main.wasm with tc: `cargo build --release
// --offline` for its WASI target, paths inside the module remapped so that
// the same source gives the same bytes wherever it is built.
func compileRustWasm(ctx context.Context, tc RustToolchain, dir string, buildArgs map[string]string) (string, error) {
	bin, err := tc.cargoBuild(ctx, dir, tc.Target, buildArgs)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, wasmModuleName)
	if err := os.Rename(bin, out); err != nil {
		return "", err
	}
	return out, nil
}

// CompileRustHost builds dir, a build folder the rust-wasm template left
// (build/<fn>/), for this machine with the same rustc, and returns the
// program: the same function as a host process (what the benchmarks run
// in fork mode beside the module).
func CompileRustHost(ctx context.Context, tc RustToolchain, dir string) (string, error) {
	return tc.cargoBuild(ctx, dir, "", nil)
}

// cargoBuild runs cargo build in dir for target ("" = the host) into
// dir/target and returns the file it made (the bin "main").
func (tc RustToolchain) cargoBuild(ctx context.Context, dir, target string, buildArgs map[string]string) (string, error) {
	targetDir := filepath.Join(dir, "target")
	args := []string{"build", "--release", "--offline", "--quiet"}
	out := filepath.Join(targetDir, "release", "main")
	if target != "" {
		args = append(args, "--target", target)
		out = filepath.Join(targetDir, target, "release", "main.wasm")
	}
	cmd := exec.CommandContext(ctx, tc.Cargo, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	// stack.yml build_args (e.g. RUSTFLAGS) come next; the compiler and
	// the output stay ours.
	cmd.Env = appendBuildArgs(cmd.Env, buildArgs)
	cmd.Env = append(cmd.Env, "RUSTC="+tc.Rustc, "CARGO_TARGET_DIR="+targetDir,
		"CARGO_ENCODED_RUSTFLAGS="+encodedRustflags(buildArgs, dir), "RUSTFLAGS=", "CARGO_TERM_COLOR=never")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("cargo build of the handler failed (fix the code and build again): %s", oneLine(buf.String(), err))
	}
	if !fileExists(out) {
		return "", fmt.Errorf("cargo build made no %s: the template's Cargo.toml must keep its bin named main", out)
	}
	return out, nil
}

// encodedRustflags is the rustc flags of a build, as cargo's
// CARGO_ENCODED_RUSTFLAGS (one flag per 0x1f-separated part): the
// caller's (build_args first, then the environment; the encoded form
// where given, as cargo prefers it, else RUSTFLAGS split on spaces as
// cargo splits it), then the remap of the build folder that makes the
// artifact the same from any folder. Encoded, a folder with a space in
// its path stays one flag; in RUSTFLAGS it broke the build.
func encodedRustflags(buildArgs map[string]string, dir string) string {
	lookup := func(k string) (string, bool) {
		if v, ok := buildArgs[k]; ok {
			return v, true
		}
		return os.LookupEnv(k)
	}
	var flags []string
	if enc, ok := lookup("CARGO_ENCODED_RUSTFLAGS"); ok && enc != "" {
		flags = strings.Split(enc, "\x1f")
	} else if plain, ok := lookup("RUSTFLAGS"); ok {
		flags = strings.Fields(plain)
	}
	flags = append(flags, "--remap-path-prefix="+dir+"=/build")
	return strings.Join(flags, "\x1f")
}
