package kafka

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferryfaas/ferry/trigger/triggertest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testCA is a self-signed CA (written to caFile) and a broker certificate
// for 127.0.0.1 that it signs.
type testCA struct {
	caFile string
	server tls.Certificate
}

func newTestCA(t *testing.T) testCA {
	t.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	caKey, srvKey := key(), key()
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ferry test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return testCA{caFile: f, server: tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}
}

// secureCluster is a one-broker kfake on 127.0.0.1 with TLS (when ca is
// non-nil) and SASL (when mech is set: one user "ferry" / "s3cret").
func secureCluster(t *testing.T, ca *testCA, mech string, topics ...string) *kfake.Cluster {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(1, topics...)}
	if ca != nil {
		opts = append(opts, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{ca.server}, MinVersion: tls.VersionTLS12}))
	}
	if mech != "" {
		opts = append(opts, kfake.EnableSASL(), kfake.Superuser(mech, "ferry", "s3cret"))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// The Kafka trigger consumes from brokers that require TLS (verified
// against a CA of the test's) and SASL PLAIN, SCRAM-SHA-256 or
// SCRAM-SHA-512: the flags' settings reach the client.
func TestTLSAndSASL(t *testing.T) {
	ca := newTestCA(t)
	for _, c := range []struct {
		name, mech string
		tls        bool
		sec        Security
	}{
		{"tls", "", true, Security{CAFile: ca.caFile}},
		{"tls+plain", "PLAIN", true, Security{CAFile: ca.caFile, SASLMechanism: "plain"}},
		{"tls+scram-sha-256", "SCRAM-SHA-256", true, Security{TLS: true, CAFile: ca.caFile, SASLMechanism: "scram-sha-256"}},
		{"scram-sha-512", "SCRAM-SHA-512", false, Security{SASLMechanism: "SCRAM-SHA-512"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var tca *testCA
			if c.tls {
				tca = &ca
			}
			cl := secureCluster(t, tca, c.mech, "secure")
			if c.mech != "" {
				c.sec.SASLUser, c.sec.SASLPassword = "ferry", "s3cret"
			}
			env, opts := startSecure(t, cl, c.sec)
			produceWith(t, cl.ListenAddrs(), opts, &kgo.Record{Topic: "secure", Value: []byte("over " + c.name)})
			calls := env.WaitCalls(t, 1, 20*time.Second, fnCalls("f", false))
			if calls[0].Body != "over "+c.name {
				t.Fatalf("call: %+v", calls[0])
			}
			waitGauge(t, env, 1)
		})
	}
}

// Wrong credentials, or a broker certificate the CA did not sign, are
// reported as the broker being unreachable is (gauge 0, the function's
// KafkaTrigger condition False with the reason in its message), and
// nothing is consumed.
func TestRefusedConnectionReported(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	for _, c := range []struct {
		name, mech string
		sec        Security
		want       string
	}{
		{"wrong password", "SCRAM-SHA-256", Security{CAFile: ca.caFile, SASLMechanism: "scram-sha-256", SASLUser: "ferry", SASLPassword: "wrong"}, "credentials"},
		{"unknown user", "PLAIN", Security{CAFile: ca.caFile, SASLMechanism: "plain", SASLUser: "mallory", SASLPassword: "s3cret"}, "credentials"},
		{"untrusted certificate", "", Security{CAFile: other.caFile}, "certificate"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl := secureCluster(t, &ca, c.mech, "secure")
			env, _ := startSecure(t, cl, c.sec)
			waitGauge(t, env, 0)
			cond := kafkaCondition(t, env, "f")
			if cond.Status != "False" || cond.Reason != "BrokerDown" || !strings.Contains(cond.Message, c.want) {
				t.Fatalf("condition %+v, want False BrokerDown mentioning %q", cond, c.want)
			}
			if strings.Contains(cond.Message, "s3cret") || strings.Contains(cond.Message, "wrong") {
				t.Fatalf("the password is in the condition: %q", cond.Message)
			}
			if n := len(env.Calls()); n != 0 {
				t.Fatalf("%d calls through a refused connection", n)
			}
		})
	}
}

// startSecure runs a Kafka source with the settings sec against cl, for
// a function f subscribed to the topic "secure"; opts are the client
// options sec gives, for a producer.
func startSecure(t *testing.T, cl *kfake.Cluster, sec Security) (*triggertest.Env, []kgo.Opt) {
	t.Helper()
	opts, err := sec.Options()
	if err != nil {
		t.Fatal(err)
	}
	env := triggertest.Start(t)
	env.Deploy(t, "f", map[string]string{"topic": "secure"})
	start(t, env, Config{Brokers: cl.ListenAddrs(), Opts: opts, Auth: sec.Auth()})
	return env, opts
}

func produceWith(t *testing.T, addrs []string, opts []kgo.Opt, recs ...*kgo.Record) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(t.Context(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}
