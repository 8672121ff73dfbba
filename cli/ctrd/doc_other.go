//go:build !linux

package ctrd

// The containerd runtime needs Linux: elsewhere ferry-containerd is ferry,
// and --runtime containerd says so.
