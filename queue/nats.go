package queue

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Embedded is a NATS server with JetStream running inside this process.
type Embedded struct {
	srv            *server.Server
	user, password string
}

// EmbeddedOptions configure StartEmbedded.
type EmbeddedOptions struct {
	// StoreDir holds the JetStream file store (e.g. DATA/nats).
	StoreDir string
	// Listen is host:port for a TCP listener so that `ferry queue-worker`
	// processes on other hosts can connect; empty means in-process only.
	Listen string
	// SyncAlways fsyncs every write. Without it an acknowledged message is
	// still written to the file (the kernel has it) before the ack, so it
	// survives kill -9 of the process; SyncAlways also survives power loss.
	SyncAlways bool
	// User and Password are required with Listen: a TCP listener without
	// them would let any local process or function read every queued call
	// (headers, callback tokens, results) and delete the streams.
	User, Password string
}

// StartEmbedded starts a JetStream-enabled NATS server. It is ready (or has
// failed) when this returns.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if o.StoreDir == "" {
		return nil, fmt.Errorf("embedded nats: a store directory is required")
	}
	if err := os.MkdirAll(o.StoreDir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded nats: create store dir: %w", err)
	}
	opts := &server.Options{
		ServerName:         "ferry",
		JetStream:          true,
		StoreDir:           filepath.Clean(o.StoreDir),
		SyncAlways:         o.SyncAlways,
		NoSigs:             true,
		NoLog:              true,
		DontListen:         o.Listen == "",
		JetStreamMaxMemory: 256 << 20,
	}
	if o.Listen != "" {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: --nats-listen %q: use host:port", o.Listen)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: --nats-listen %q: bad port", o.Listen)
		}
		if o.User == "" || o.Password == "" {
			return nil, fmt.Errorf("embedded nats: --nats-listen needs a user and password")
		}
		// The server logs nothing here (NoLog) and, unable to listen,
		// would only be "not ready" after 30 s: try the address first.
		ln, err := net.Listen("tcp", o.Listen)
		if err != nil {
			return nil, fmt.Errorf("embedded nats: --nats-listen %s: %w (another program holds it: pick another address)", o.Listen, err)
		}
		ln.Close()
		opts.Host, opts.Port = host, p
		opts.Username, opts.Password = o.User, o.Password
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 30s; check that %s is writable and not used by another ferry", o.StoreDir)
	}
	return &Embedded{srv: srv, user: opts.Username, password: opts.Password}, nil
}

// Connect opens an in-process client connection.
func (e *Embedded) Connect(name string) (*nats.Conn, error) {
	opts := []nats.Option{nats.InProcessServer(e.srv), nats.Name(name), nats.MaxReconnects(-1)}
	if e.user != "" {
		opts = append(opts, nats.UserInfo(e.user, e.password))
	}
	return nats.Connect("", opts...)
}

// ClientURL is the TCP URL when a listener was requested, else "".
func (e *Embedded) ClientURL() string {
	if e.srv.Addr() == nil {
		return ""
	}
	return e.srv.ClientURL()
}

// Shutdown stops the server and waits for it to finish.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// ConnectOptions name an external NATS server or cluster.
type ConnectOptions struct {
	URL      string // nats://host:4222[,nats://...]
	Creds    string // path to a .creds file
	User     string
	Password string
	Name     string
}

// Refused reports whether err is NATS refusing the credentials: a
// configuration error, which waiting for NATS does not fix.
func Refused(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked)
}

// ConnectExternal dials an external NATS server; it keeps reconnecting for
// ever so that a NATS restart is survived.
func ConnectExternal(o ConnectOptions) (*nats.Conn, error) {
	opts := []nats.Option{nats.Name(o.Name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond)}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w (check --nats-url and credentials)", o.URL, err)
	}
	return nc, nil
}
