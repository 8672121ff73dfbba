package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// Security are the connection settings of the brokers.
type Security struct {
	TLS bool
	// CAFile verifies the brokers (default: the system roots).
	CAFile string
	// CertFile and KeyFile are a client certificate (mutual TLS).
	CertFile, KeyFile string
	// InsecureSkipVerify turns verification off (test setups only).
	InsecureSkipVerify bool
	// SASLMechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	SASLMechanism, SASLUser, SASLPassword string
}

// Options turns the settings into client options. SASL without TLS is
// refused for PLAIN, which would send the password in clear text.
func (s Security) Options() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	tlsOn := s.TLS || s.CAFile != "" || s.CertFile != "" || s.InsecureSkipVerify
	if tlsOn {
		c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: s.InsecureSkipVerify} //nolint:gosec // only when asked
		if s.CAFile != "" {
			pem, err := os.ReadFile(s.CAFile)
			if err != nil {
				return nil, fmt.Errorf("--kafka-tls-ca: %w", err)
			}
			c.RootCAs = x509.NewCertPool()
			if !c.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--kafka-tls-ca %s: no PEM certificate in it", s.CAFile)
			}
		}
		if (s.CertFile == "") != (s.KeyFile == "") {
			return nil, fmt.Errorf("--kafka-tls-cert and --kafka-tls-key go together")
		}
		if s.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(s.CertFile, s.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("--kafka-tls-cert/--kafka-tls-key: %w", err)
			}
			c.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.DialTLSConfig(c))
	}
	switch m := strings.ToLower(s.SASLMechanism); m {
	case "":
		if s.SASLUser != "" {
			return nil, fmt.Errorf("--kafka-sasl-user needs --kafka-sasl-mechanism (plain, scram-sha-256 or scram-sha-512)")
		}
	case "plain":
		if !tlsOn {
			return nil, fmt.Errorf("--kafka-sasl-mechanism plain sends the password in clear: add --kafka-tls")
		}
		opts = append(opts, kgo.SASL(plain.Auth{User: s.SASLUser, Pass: s.SASLPassword}.AsMechanism()))
	case "scram-sha-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.SASLUser, Pass: s.SASLPassword}.AsSha256Mechanism()))
	case "scram-sha-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: s.SASLUser, Pass: s.SASLPassword}.AsSha512Mechanism()))
	default:
		return nil, fmt.Errorf("--kafka-sasl-mechanism %q: use plain, scram-sha-256 or scram-sha-512", s.SASLMechanism)
	}
	return opts, nil
}

// Auth describes the SASL identity for messages ("" without SASL): the
// mechanism and user, never the password.
func (s Security) Auth() string {
	if s.SASLMechanism == "" {
		return ""
	}
	return "SASL " + strings.ToLower(s.SASLMechanism) + " as user " + strconv.Quote(s.SASLUser)
}
