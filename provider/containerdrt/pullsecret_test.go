package containerdrt

import (
	"strings"
	"testing"
)

// A docker config.json's login is found by the image's registry, in both
// spellings docker writes; a bad config says what is wrong without
// quoting the secret.
func TestAuthFor(t *testing.T) {
	cfg := `{"auths": {
		"https://index.docker.io/v1/": {"auth": "aHViOmh1YnBhc3M="},
		"127.0.0.1:5000": {"username": "me", "password": "pw"},
		"ghcr.io": {"auth": "bm9jb2xvbg=="}}}`
	for image, want := range map[string]string{
		"acme/fn:1":                "hub:hubpass",
		"docker.io/acme/fn:1":      "hub:hubpass",
		"127.0.0.1:5000/acme/fn:1": "me:pw",
	} {
		a, err := authFor(image, []byte(cfg))
		if err != nil {
			t.Errorf("%s: %v", image, err)
			continue
		}
		if got := a.Username + ":" + a.Password; got != want {
			t.Errorf("%s: login %q, want %q", image, got, want)
		}
	}
	for image, bad := range map[string]struct{ cfg, msg string }{
		"quay.io/acme/fn:1": {cfg, "no login for registry quay.io"},
		"ghcr.io/acme/fn:1": {cfg, "not the base64 of user:password"},
		"acme/fn:1":         {`{"auths": s3cret`, "not a docker config.json"},
	} {
		_, err := authFor(image, []byte(bad.cfg))
		if err == nil || !strings.Contains(err.Error(), bad.msg) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: %v, want an error saying %q without the secret", image, err, bad.msg)
		}
	}
}
