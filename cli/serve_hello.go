package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// recordGatewayURL writes the URL this server answers on into its data dir
// (0600), for the CLI: it sends the data dir's admin password to that URL
// only (see credentials).
func recordGatewayURL(dataDir, url string) error {
	p := filepath.Join(dataDir, gatewayURLFile)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(url+"\n"), 0o600); err != nil {
		return fmt.Errorf("record the gateway URL: %w", err)
	}
	return os.Rename(tmp, p)
}

// announce tells whoever started the server where the portal is and how to
// log in: the first thing a new user needs, in words rather than log keys.
// pwFrom names where a password given to serve came from ("" when it is
// the data dir's).
func announce(w io.Writer, url, user, dataDir, pwFrom string) {
	if pwFrom == "" {
		pwFrom = filepath.Join(dataDir, "secrets", "basic-auth-password")
	}
	pw := "the password in " + pwFrom
	cli := "ferry list"
	if filepath.Clean(dataDir) != filepath.Clean(DefaultDataDir()) {
		cli = "FERRY_DATA_DIR=" + dataDir + " ferry list"
	}
	fmt.Fprintf(w, "\nFerry is ready.\n  Portal:  %s/ui/  (user %q, %s)\n  CLI:     %s   (on this machine no login is needed; elsewhere: ferry login -g %s --password-stdin)\n  Invoke:  curl %s/function/NAME\n\n",
		url, user, pw, cli, url, url)
}
