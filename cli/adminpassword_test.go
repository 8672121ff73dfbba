package cli

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// --admin-password-file gives the admin's password without it showing in
// ps; FERRY_ADMIN_PASSWORD still does, but the file wins.
func TestAdminPasswordFile(t *testing.T) {
	_, data := isolate(t)
	dir := t.TempDir()
	file := writeFile(t, filepath.Join(dir, "pw"), "s3cret\r\n")
	t.Setenv("FERRY_ADMIN_PASSWORD", "from-env")
	pw, err := givenAdminPassword(file)
	if err != nil || pw.password != "s3cret" || pw.from != file {
		t.Fatalf("file: %+v %v", pw, err)
	}
	creds, err := adminCredentials(data, pw.password, slog.New(slog.DiscardHandler))
	if err != nil || creds.User != "admin" || creds.Password != "s3cret" {
		t.Fatalf("credentials: %+v %v", creds, err)
	}
	if pw, err := givenAdminPassword(""); err != nil || pw.password != "from-env" {
		t.Fatalf("env: %+v %v", pw, err)
	}
	t.Setenv("FERRY_ADMIN_PASSWORD", "")
	if pw, err := givenAdminPassword(""); err != nil || pw.password != "" {
		t.Fatalf("none given: %+v %v", pw, err)
	}

	// A file named but missing or empty is refused before anything starts.
	empty := writeFile(t, filepath.Join(dir, "empty"), "\n")
	for _, tc := range [][2]string{
		{filepath.Join(dir, "missing"), "--admin-password-file: open " + filepath.Join(dir, "missing")},
		{empty, "--admin-password-file " + empty + ": the file is empty"},
	} {
		runCLI(t, "", "serve", "--admin-password-file", tc[0], "--listen", "127.0.0.1:0").fails(t, tc[1])
	}
}

// The start-up message names where a given password came from.
func TestAnnounceNamesThePasswordsSource(t *testing.T) {
	var b strings.Builder
	announce(&b, "http://127.0.0.1:9", "admin", t.TempDir(), "/run/secrets/pw")
	if !strings.Contains(b.String(), "the password in /run/secrets/pw") {
		t.Fatal(b.String())
	}
}
