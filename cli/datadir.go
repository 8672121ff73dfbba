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

// adminCredentials returns the gateway's basic-auth credentials: user from
// DATA/secrets/basic-auth-user (default "admin"), password from
// FERRY_ADMIN_PASSWORD, else DATA/secrets/basic-auth-password, generated
// (random, 0600) on first start. Secure by default: there is no way to run
// the management API without credentials.
func adminCredentials(dataDir string, log *slog.Logger) (gateway.Credentials, error) {
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
	if p := os.Getenv("FERRY_ADMIN_PASSWORD"); p != "" {
		return gateway.Credentials{User: user, Password: p}, nil
	}
	if b, err := os.ReadFile(passFile); err == nil && strings.TrimSpace(string(b)) != "" {
		log.Info("admin credentials", "user", user, "password-file", passFile)
		return gateway.Credentials{User: user, Password: strings.TrimSpace(string(b))}, nil
	}
	buf := make([]byte, 18)
	if _, err := rand.Read(buf); err != nil {
		return gateway.Credentials{}, err
	}
	pass := base64.RawURLEncoding.EncodeToString(buf)
	if err := os.WriteFile(passFile, []byte(pass), 0o600); err != nil {
		return gateway.Credentials{}, fmt.Errorf("write %s: %w", passFile, err)
	}
	log.Info("generated an admin password (first start)", "user", user, "password-file", passFile)
	return gateway.Credentials{User: user, Password: pass}, nil
}
