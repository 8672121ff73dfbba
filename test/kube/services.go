package kube

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"
)

// startKubeProxy runs kube-proxy in iptables mode: ClusterIPs and NodePorts
// (on 127.0.0.0/8 only) become DNAT rules to pod IPs on the bridge.
func (c *Cluster) startKubeProxy(ctx context.Context) error {
	health, _ := freePort()
	metrics, _ := freePort()
	cfg := filepath.Join(c.Dir, "kube-proxy.yaml")
	// conntrack zeros: leave the host's conntrack table size and timeouts
	// alone (kube-proxy would raise them for the whole machine).
	writeFile(cfg, fmt.Sprintf(`apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {kubeconfig: %q}
hostnameOverride: ferry-node
clusterCIDR: %q
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:%d
metricsBindAddress: 127.0.0.1:%d
nodePortAddresses: ["127.0.0.0/8"]
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {minSyncPeriod: 0s, syncPeriod: 30s}
`, c.Kubeconfig, podCIDR, health, metrics))
	p, err := c.start("kube-proxy", filepath.Join(c.bin, "kube-proxy"), "--config="+cfg, "--v=1")
	if err != nil {
		return err
	}
	return c.waitFor(ctx, p, "kube-proxy /healthz", 60*time.Second, func() error {
		return httpOK(fmt.Sprintf("http://127.0.0.1:%d/healthz", health))
	})
}

// startDNS runs CoreDNS on the node's bridge address for cluster.local
// only (no forwarding: no query leaves the machine) and makes it the
// cluster's kube-dns Service (ClusterIP dnsIP, which the kubelet writes
// into every pod's resolv.conf) through a selectorless Service and an
// EndpointSlice pointing at the bridge address.
func (c *Cluster) startDNS(ctx context.Context) error {
	ready, _ := freePort()
	health, _ := freePort()
	corefile := filepath.Join(c.Dir, "Corefile")
	writeFile(corefile, fmt.Sprintf(`cluster.local:53 {
    bind %s
    errors
    health 127.0.0.1:%d
    ready 127.0.0.1:%d
    kubernetes cluster.local {
        kubeconfig %s ferry
        pods insecure
        ttl 5
    }
    cache 5
    loadbalance
}
`, bridgeIP, health, ready, c.Kubeconfig))
	p, err := c.start("coredns", CoreDNSBin(), "-conf", corefile)
	if err != nil {
		return err
	}
	svc := filepath.Join(c.Dir, "kube-dns.yaml")
	writeFile(svc, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  clusterIP: %s
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: ferry-test-harness}
addressType: IPv4
endpoints:
- addresses: [%q]
  conditions: {ready: true}
ports:
- {name: dns, port: 53, protocol: UDP}
- {name: dns-tcp, port: 53, protocol: TCP}
`, dnsIP, bridgeIP))
	if out, err := c.Kubectl("apply", "-f", svc); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return c.waitFor(ctx, p, "CoreDNS answering through kube-dns", 60*time.Second, func() error {
		if err := httpOK(fmt.Sprintf("http://127.0.0.1:%d/ready", ready)); err != nil {
			return err
		}
		// Through the ClusterIP: proves kube-proxy's rules and the route.
		ips, err := c.Resolve(ctx, dnsIP, "kubernetes.default.svc.cluster.local")
		if err != nil {
			return err
		}
		if len(ips) == 0 {
			return fmt.Errorf("no address for kubernetes.default")
		}
		return nil
	})
}

// Resolve looks name up with the cluster DNS at server (dnsIP, the kube-dns
// ClusterIP, or bridgeIP, CoreDNS itself), as a pod would.
func (c *Cluster) Resolve(ctx context.Context, server, name string) ([]string, error) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(server, "53"))
	}}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return r.LookupHost(ctx, name)
}

// DNSIP is the ClusterIP of kube-dns, the name server in every pod.
func DNSIP() string { return dnsIP }
