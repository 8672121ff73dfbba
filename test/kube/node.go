package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// startContainerd runs Debian's containerd with the CRI plugin, its own
// root, state and socket, a local pause image and a CNI bridge on the
// harness's own subnet. Pods get no default route, only one for the
// Service CIDR through the node (kube-proxy's rules live there): nothing a
// pod sends can leave the machine.
func (c *Cluster) startContainerd(ctx context.Context) error {
	base := filepath.Join(c.Dir, "ctrd")
	cni := filepath.Join(c.Dir, "cni")
	os.MkdirAll(base, 0o711)
	os.MkdirAll(cni, 0o755)
	c.CtrSocket = filepath.Join(c.Dir, "ctrd.sock")
	writeFile(filepath.Join(cni, "10-ferry.conflist"), fmt.Sprintf(`{
  "cniVersion": "0.4.0", "name": %q,
  "plugins": [
    {"type": "bridge", "bridge": %q, "isGateway": true, "ipMasq": false, "hairpinMode": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": %q}]], "routes": [{"dst": %q, "gw": %q}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "loopback"}
  ]
}`, cniNetwork, bridgeName, podCIDR, serviceCIDR, bridgeIP))
	cfg := filepath.Join(c.Dir, "containerd.toml")
	writeFile(cfg, fmt.Sprintf(`version = 2
root = %q
state = %q
[grpc]
  address = %q
[ttrpc]
  address = %q
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %q
  restrict_oom_score_adj = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %q
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    Root = %q
`, filepath.Join(base, "root"), filepath.Join(base, "state"), c.CtrSocket, c.CtrSocket+".ttrpc", pauseImage, cni, filepath.Join(base, "runc")))
	p, err := c.start("containerd", "containerd", "--config", cfg)
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, p, "containerd socket", 30*time.Second, func() error {
		_, err := run("ctr", "-a", c.CtrSocket, "version")
		return err
	}); err != nil {
		return err
	}
	tar := filepath.Join(c.Dir, "pause.tar")
	if err := buildPauseImage(tar); err != nil {
		return err
	}
	return c.ImportImage(tar)
}

// ImportImage imports a docker archive or OCI layout tar into the k8s.io
// namespace, where the kubelet finds pod images.
func (c *Cluster) ImportImage(tar string) error {
	_, err := run("ctr", "-a", c.CtrSocket, "-n", "k8s.io", "images", "import", "--no-unpack=false", tar)
	return err
}

// killContainers removes every task and container of the cluster's
// containerd, so no shim outlives the test.
func (c *Cluster) killContainers() {
	out, _ := exec.Command("ctr", "-a", c.CtrSocket, "-n", "k8s.io", "tasks", "ls", "-q").Output()
	for _, id := range strings.Fields(string(out)) {
		exec.Command("ctr", "-a", c.CtrSocket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", id).Run()
	}
	time.Sleep(300 * time.Millisecond)
	for _, id := range strings.Fields(string(out)) {
		exec.Command("ctr", "-a", c.CtrSocket, "-n", "k8s.io", "tasks", "delete", "-f", id).Run()
	}
	out, _ = exec.Command("ctr", "-a", c.CtrSocket, "-n", "k8s.io", "containers", "ls", "-q").Output()
	c.containerIDs = append(c.containerIDs, strings.Fields(string(out))...)
	for _, id := range strings.Fields(string(out)) {
		exec.Command("ctr", "-a", c.CtrSocket, "-n", "k8s.io", "containers", "delete", id).Run()
	}
}

func (c *Cluster) startKubelet(ctx context.Context) error {
	root := filepath.Join(c.Dir, "kubelet")
	os.MkdirAll(root, 0o755)
	cfg := filepath.Join(c.Dir, "kubelet.yaml")
	writeFile(cfg, fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://%s
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
evictionHard: {"memory.available": "100Mi", "nodefs.available": "1%%", "imagefs.available": "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
podPidsLimit: 4096
serializeImagePulls: false
syncFrequency: 5s
fileCheckFrequency: 5s
nodeStatusUpdateFrequency: 2s
clusterDomain: cluster.local
clusterDNS: [%q]
`, c.CtrSocket, dnsIP))
	p, err := c.start("kubelet", filepath.Join(c.bin, "kubelet"), "--config="+cfg, "--kubeconfig="+c.Kubeconfig,
		"--root-dir="+root, "--node-ip="+c.NodeIP, "--hostname-override=ferry-node", "--v=1")
	if err != nil {
		return err
	}
	return c.waitFor(ctx, p, "node Ready", 90*time.Second, func() error {
		out, err := c.Kubectl("get", "node", "ferry-node", "-o", "json")
		if err != nil {
			return err
		}
		var n struct {
			Status struct {
				Conditions []struct{ Type, Status, Message string }
			}
		}
		if err := json.Unmarshal([]byte(out), &n); err != nil {
			return err
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == "Ready" {
				if cond.Status == "True" {
					return nil
				}
				return fmt.Errorf("node not ready: %s", cond.Message)
			}
		}
		return fmt.Errorf("node has no Ready condition yet")
	})
}

// Kubectl runs the cached kubectl against the cluster.
func (c *Cluster) Kubectl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(c.bin, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
