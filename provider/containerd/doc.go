// Package containerd runs function replicas as containers under a
// containerd daemon (Debian 12's 1.6 with runc works), each in its own
// network namespace on a CNI bridge.
//
// It is only the runtime-shaped part of a one-machine provider: start one
// replica from an image, say where it listens and when it is ready, report
// its exit, stop it and leave nothing behind. State, scaling, restarts and
// routing belong to the provider that drives it.
//
// Isolation per replica, by default: the image's user, or an unprivileged
// uid when the image says root, with no effective capabilities then; no new
// privileges; runc's default capability bounding set and containerd's
// default seccomp profile; a read-only root when asked; its own
// size-limited /tmp; memory and pids limits; secrets read-only at
// /var/openfaas/secrets. Replicas on the bridge cannot reach each other:
// bridge ports are isolated (no L2 path) and the host drops routed traffic
// between them (no L3 path); the host itself, where the gateway listens,
// stays reachable.
//
// Everything a replica owns (task, container, snapshot, netns, IP lease,
// secrets copy) carries its container ID, so Reap can find and remove what
// a killed ferry or a containerd restart left behind.
package containerd
