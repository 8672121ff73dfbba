package cli

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/ferryfaas/ferry/gateway"
)

// DefaultDataDir is $FERRY_DATA_DIR, else $XDG_DATA_HOME/ferry, else
// ~/.local/share/ferry.
func DefaultDataDir() string {
	if d := os.Getenv("FERRY_DATA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "ferry")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "ferry")
	}
	return filepath.Join(home, ".local", "share", "ferry")
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// adminPassword is the admin's password given to serve, and where it came
// from (for the start-up message); empty when none was.
type adminPassword struct{ password, from string }

// givenAdminPassword reads --admin-password-file, else FERRY_ADMIN_PASSWORD.
// A file named but missing or empty is an error: serving with a generated
// password instead would lock out whoever wrote the file.
func givenAdminPassword(file string) (adminPassword, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return adminPassword{}, fmt.Errorf("--admin-password-file: %w", err)
		}
		p := strings.TrimRight(string(b), "\r\n") // as written by echo or an editor
		if p == "" {
			return adminPassword{}, fmt.Errorf("--admin-password-file %s: the file is empty", file)
		}
		return adminPassword{p, file}, nil
	}
	if p := os.Getenv("FERRY_ADMIN_PASSWORD"); p != "" {
		return adminPassword{p, "$FERRY_ADMIN_PASSWORD"}, nil
	}
	return adminPassword{}, nil
}

// adminCredentials returns the gateway's basic-auth credentials: user from
// DATA/secrets/basic-auth-user (default "admin"), password given (see
// givenAdminPassword), else DATA/secrets/basic-auth-password, generated
// (random, 0600) on first start. Secure by default: there is no way to run
// the management API without credentials.
func adminCredentials(dataDir, given string, log *slog.Logger) (gateway.Credentials, error) {
	dir := filepath.Join(dataDir, "secrets")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return gateway.Credentials{}, err
	}
	userFile := filepath.Join(dir, "basic-auth-user")
	passFile := filepath.Join(dir, "basic-auth-password")
	user := "admin"
	if b, err := os.ReadFile(userFile); err == nil && strings.TrimSpace(string(b)) != "" {
		user = strings.TrimSpace(string(b))
	} else if err := os.WriteFile(userFile, []byte(user), 0o600); err != nil {
		return gateway.Credentials{}, err
	}
	if given != "" {
		return gateway.Credentials{User: user, Password: given}, nil
	}
	pass, generated, err := randomSecret(passFile)
	if err != nil {
		return gateway.Credentials{}, err
	}
	if generated {
		log.Info("generated an admin password (first start)", "user", user, "password-file", passFile)
	} else {
		log.Info("admin credentials", "user", user, "password-file", passFile)
	}
	return gateway.Credentials{User: user, Password: pass}, nil
}

// randomSecret reads the secret in path, or writes a new random one there
// (0600) when the file is missing or empty.
func randomSecret(path string) (secret string, generated bool, err error) {
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b)), false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, err
	}
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return "", false, err
	}
	secret = base64.RawURLEncoding.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		return "", false, fmt.Errorf("write %s: %w", path, err)
	}
	return secret, true, nil
}

// embeddedNATSCredentials are the user and password the embedded NATS
// requires when it listens on TCP: --nats-user/--nats-password when given,
// else user "ferry" and DATA/secrets/nats-password (random, generated on
// first start). The queue, the triggers and `ferry queue-worker` share them.
func embeddedNATSCredentials(dataDir, user, password string) (string, string, error) {
	if user == "" {
		user = "ferry"
	}
	if password != "" {
		return user, password, nil
	}
	p, _, err := randomSecret(filepath.Join(dataDir, "secrets", "nats-password"))
	return user, p, err
}
