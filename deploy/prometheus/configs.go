// Package prometheus ships Ferry's Prometheus and Alertmanager configs
// (the *.yml files beside this one) and renders copies of them for other
// addresses, so tests run exactly the shipped files against their own
// loopback ports.
package prometheus

import (
	_ "embed"
	"strings"
)

// The shipped files.
var (
	//go:embed prometheus.yml
	PrometheusYML string
	//go:embed alert.rules.yml
	AlertRulesYML string
	//go:embed alertmanager.yml
	AlertmanagerYML string
)

// Addresses in the shipped files, replaced by Render.
const (
	shippedGateway      = "127.0.0.1:8080"
	shippedAlertmanager = "127.0.0.1:9093"
	shippedPasswordFile = "/var/lib/ferry/secrets/basic-auth-password"
)

// Options are the addresses a rendered copy points at; empty keeps the
// shipped value.
type Options struct {
	Gateway      string // host:port of `ferry serve`
	Alertmanager string // host:port of Alertmanager
	PasswordFile string // the gateway admin password file
}

// Render returns prometheus.yml and alertmanager.yml for opts (the rule
// file is used unchanged, next to prometheus.yml).
func Render(opts Options) (prometheusYML, alertmanagerYML string) {
	r := strings.NewReplacer(
		shippedGateway, or(opts.Gateway, shippedGateway),
		shippedAlertmanager, or(opts.Alertmanager, shippedAlertmanager),
		shippedPasswordFile, or(opts.PasswordFile, shippedPasswordFile),
	)
	return r.Replace(PrometheusYML), r.Replace(AlertmanagerYML)
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
