// Command coredns is the cluster DNS of Ferry's test cluster: CoreDNS
// v1.15.0 with only the plugins a single-node cluster needs. Leaving out
// the cloud plugins (route53, azure, clouddns, etcd, ...) keeps the cold
// build short; the server itself is CoreDNS's own coremain.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The plugin order comes from dnsserver.Directives (CoreDNS's full list);
// referencing it keeps the import explicit.
var _ = dnsserver.Directives

func main() { coremain.Run() }
