package cli

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// authConfig is ~/.ferry/config.yml, laid out like faas-cli's
// ~/.openfaas/config.yml: one entry per gateway, token = base64(user:pass).
type authConfig struct {
	Auths []authEntry `yaml:"auths"`
	// Current is the gateway of the last `ferry login`: commands talk to it
	// when neither a flag, the environment nor a stack file names one.
	Current string `yaml:"current,omitempty"`
}

type authEntry struct {
	Gateway string `yaml:"gateway"`
	Auth    string `yaml:"auth"`
	Token   string `yaml:"token"`
}

// configPath is $FERRY_CONFIG_DIR/config.yml, default ~/.ferry/config.yml.
func configPath() (string, error) {
	dir := os.Getenv("FERRY_CONFIG_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the home directory for ~/.ferry: set FERRY_CONFIG_DIR (%v)", err)
		}
		dir = filepath.Join(home, ".ferry")
	}
	return filepath.Join(dir, "config.yml"), nil
}

func readConfig() (*authConfig, string, error) {
	p, err := configPath()
	if err != nil {
		return nil, "", err
	}
	var c authConfig
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return &c, p, nil
	}
	if err != nil {
		return nil, p, fmt.Errorf("read %s: %v", p, err)
	}
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, p, fmt.Errorf("%s is not valid YAML (%v): fix or delete it and run `ferry login` again", p, err)
	}
	return &c, p, nil
}

// writeConfig stores the file 0600 in a 0700 directory: it holds passwords.
func writeConfig(c *authConfig, p string) error {
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %v", dir, err)
	}
	_ = os.Chmod(dir, 0o700)
	b, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write %s: %v", tmp, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

func normGW(s string) string { return strings.TrimRight(s, "/") }

// lookupAuth returns the stored credentials for a gateway.
func lookupAuth(gw string) (user, pass string, err error) {
	c, _, err := readConfig()
	if err != nil {
		return "", "", err
	}
	for _, a := range c.Auths {
		if normGW(a.Gateway) != normGW(gw) {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(a.Token)
		if err != nil {
			return "", "", fmt.Errorf("the stored token for %s is not base64: run `ferry login` again", gw)
		}
		u, p, _ := strings.Cut(string(b), ":")
		return u, p, nil
	}
	return "", "", nil
}

// storeAuth adds or replaces the entry for gw.
func storeAuth(gw, user, pass string) (string, error) {
	c, p, err := readConfig()
	if err != nil {
		return "", err
	}
	tok := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	entry := authEntry{Gateway: normGW(gw), Auth: "basic", Token: tok}
	replaced := false
	for i, a := range c.Auths {
		if normGW(a.Gateway) == entry.Gateway {
			c.Auths[i], replaced = entry, true
		}
	}
	if !replaced {
		c.Auths = append(c.Auths, entry)
	}
	c.Current = entry.Gateway
	return p, writeConfig(c, p)
}

// removeAuth deletes the entry for gw; found says whether there was one.
func removeAuth(gw string) (found bool, p string, err error) {
	c, p, err := readConfig()
	if err != nil {
		return false, p, err
	}
	kept := c.Auths[:0]
	for _, a := range c.Auths {
		if normGW(a.Gateway) == normGW(gw) {
			found = true
			continue
		}
		kept = append(kept, a)
	}
	if !found {
		return false, p, nil
	}
	c.Auths = kept
	if normGW(c.Current) == normGW(gw) {
		c.Current = ""
	}
	return true, p, writeConfig(c, p)
}

// currentGateway is the gateway of the last `ferry login` ("" if none or
// the config cannot be read: then the default applies).
func currentGateway() string {
	c, _, err := readConfig()
	if err != nil {
		return ""
	}
	return c.Current
}
