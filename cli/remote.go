package cli

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryfaas/ferry/client"
	"github.com/ferryfaas/ferry/stack"
	"github.com/spf13/cobra"
)

// DefaultListen is where `ferry serve` listens unless told otherwise.
const DefaultListen = "127.0.0.1:8080"

// DefaultGateway is used when neither a flag, the environment nor the
// stack file names one: the default `ferry serve`.
const DefaultGateway = "http://" + DefaultListen

// remote holds the flags shared by every command that talks to a gateway.
type remote struct {
	gateway     string
	tlsNoVerify bool
	output      string
	cmd         *cobra.Command
}

// addRemoteFlags registers --gateway, --tls-no-verify and (with output)
// --output on a command.
func addRemoteFlags(cmd *cobra.Command, r *remote, output bool) {
	r.cmd = cmd
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageErr(c, "%v", err) })
	fs := cmd.Flags()
	fs.StringVarP(&r.gateway, "gateway", "g", "", "gateway URL (default: $FERRY_URL, $OPENFAAS_URL, the stack file's provider.gateway, then "+DefaultGateway+")")
	fs.BoolVar(&r.tlsNoVerify, "tls-no-verify", false, "skip TLS certificate verification (test setups only)")
	if output {
		fs.StringVarP(&r.output, "output", "o", "table", "output format: table or json")
	}
}

// checkOutput validates --output.
func (r *remote) checkOutput() error {
	switch r.output {
	case "", "table", "json":
		return nil
	}
	return fmt.Errorf("--output %q is not supported: use table or json", r.output)
}

// outputClient checks --output, then makes the client for the gateway
// (the prologue of every command that prints what it reads).
func (r *remote) outputClient() (*client.Client, error) {
	if err := r.checkOutput(); err != nil {
		return nil, err
	}
	return r.client("")
}

// gatewayURL resolves the gateway: --gateway, $FERRY_URL, $OPENFAAS_URL,
// the stack file's provider.gateway, the gateway of the last `ferry login`,
// then the local default.
func (r *remote) gatewayURL(stackGateway string) (string, error) {
	gw, _, err := r.gatewaySource(stackGateway)
	return gw, err
}

// gatewaySource is gatewayURL with where the answer came from.
func (r *remote) gatewaySource(stackGateway string) (gw, src string, err error) {
	src, gw = "--gateway", r.gateway
	for _, c := range []struct {
		src string
		v   func() string
	}{
		{"$FERRY_URL", func() string { return os.Getenv("FERRY_URL") }},
		{"$OPENFAAS_URL", func() string { return os.Getenv("OPENFAAS_URL") }},
		{"the stack file's provider.gateway", func() string { return stackGateway }},
		{"the last `ferry login`", currentGateway},
		{"the default", func() string { return DefaultGateway }},
	} {
		if gw != "" {
			break
		}
		src, gw = c.src, c.v()
	}
	norm, err := client.NormalizeGateway(gw)
	if err != nil {
		return "", src, fmt.Errorf("%v (from %s)", err, src)
	}
	return norm, src, nil
}

// client builds an API client with resolved credentials. Without a
// stack gateway, ./stack.yml's provider.gateway is used if it has one.
func (r *remote) client(stackGateway string) (*client.Client, error) {
	if stackGateway == "" {
		stackGateway = localStackGateway()
	}
	gw, err := r.gatewayURL(stackGateway)
	if err != nil {
		return nil, err
	}
	user, pass := credentials(gw)
	c := client.New(gw, user, pass)
	c.UserAgent = "ferry/" + Version
	if r.tlsNoVerify {
		c.HTTP.Transport = client.DefaultTransport(true)
	}
	return c, nil
}

// credentials for a gateway: $FERRY_USER/$FERRY_PASSWORD, else the entry
// `ferry login` stored for that gateway, else, for the gateway that the
// local data dir's `ferry serve` listens on, the admin password it
// generated (so a local user never needs to log in). That password goes
// to no other address, not even another port on this machine: whoever
// listens there is not that server.
func credentials(gw string) (user, pass string) {
	if p := os.Getenv("FERRY_PASSWORD"); p != "" {
		return envOr("FERRY_USER", "admin"), p
	}
	if u, p, err := lookupAuth(gw); err == nil && p != "" {
		return u, p
	}
	if isLocal(gw) && servedFromDataDir(gw) {
		dir := filepath.Join(DefaultDataDir(), "secrets")
		if b, err := os.ReadFile(filepath.Join(dir, "basic-auth-password")); err == nil {
			user = "admin"
			if ub, err := os.ReadFile(filepath.Join(dir, "basic-auth-user")); err == nil && strings.TrimSpace(string(ub)) != "" {
				user = strings.TrimSpace(string(ub))
			}
			return user, strings.TrimSpace(string(b))
		}
	}
	return envOr("FERRY_USER", "admin"), ""
}

// gatewayURLFile is where `ferry serve` records the URL it serves, in its
// data dir, so that the CLI knows which local address the data dir's
// password belongs to.
const gatewayURLFile = "gateway-url"

// servedFromDataDir reports whether gw is the URL the local data dir's
// server recorded.
func servedFromDataDir(gw string) bool {
	b, err := os.ReadFile(filepath.Join(DefaultDataDir(), gatewayURLFile))
	if err != nil {
		return false
	}
	rec, err := client.NormalizeGateway(strings.TrimSpace(string(b)))
	if err != nil {
		return false
	}
	if normGW(rec) == normGW(gw) {
		return true
	}
	// localhost and 127.0.0.1 name the same listener.
	a, errA := url.Parse(rec)
	b2, errB := url.Parse(gw)
	return errA == nil && errB == nil && a.Scheme == b2.Scheme && a.Port() == b2.Port() &&
		a.Path == b2.Path && isLocal(rec) && isLocal(gw)
}

func isLocal(gw string) bool {
	u, err := url.Parse(gw)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// splitName reads "name" or "name.namespace"; an explicit --namespace wins.
func splitName(arg, namespace string) (string, string) {
	if namespace != "" {
		return arg, namespace
	}
	if i := strings.LastIndexByte(arg, '.'); i > 0 {
		return arg[:i], arg[i+1:]
	}
	return arg, ""
}

// parseKV turns ["a=1","b=2"] into a map; flag names the option for errors.
func parseKV(flag string, items []string) (map[string]string, error) {
	if len(items) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(items))
	for _, it := range items {
		k, v, ok := strings.Cut(it, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: use KEY=VALUE", flag, it)
		}
		m[k] = v
	}
	return m, nil
}

// usageErr is a wrong-arguments error that points at --help.
func usageErr(cmd *cobra.Command, format string, args ...any) error {
	return fmt.Errorf("%s: see `%s --help`", fmt.Sprintf(format, args...), cmd.CommandPath())
}

// exactArgs is cobra.ExactArgs with a message that names the arguments
// and points at --help.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usageErr(cmd, "%s takes %s, got %d argument(s)", cmd.CommandPath(), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// localStackGateway reads provider.gateway from ./stack.yml, as faas-cli
// does for commands run in a project folder; any problem means "none".
func localStackGateway() string {
	raw, err := os.ReadFile("stack.yml")
	if err != nil {
		return ""
	}
	st, err := stack.Parse("stack.yml", raw, os.LookupEnv)
	if err != nil {
		return ""
	}
	return st.Provider.Gateway
}

// hint404 adds where to look when the gateway answered 404.
func hint404(err error, listCmd string) error {
	if client.IsNotFound(err) {
		return fmt.Errorf("%w: check the name and namespace with `%s`", err, listCmd)
	}
	return err
}
