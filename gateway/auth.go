package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
)

// basicAuth guards /system and /ui. Both user and password are compared
// in constant time over their SHA-256 digests, so neither their content nor
// their length leaks through timing.
type basicAuth struct {
	user, pass [sha256.Size]byte
}

func newBasicAuth(c Credentials) basicAuth {
	return basicAuth{user: sha256.Sum256([]byte(c.User)), pass: sha256.Sum256([]byte(c.Password))}
}

func (a *basicAuth) ok(r *http.Request) bool {
	u, p, ok := r.BasicAuth()
	if !ok {
		return false
	}
	uh, ph := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
	uok := subtle.ConstantTimeCompare(uh[:], a.user[:])
	pok := subtle.ConstantTimeCompare(ph[:], a.pass[:])
	return uok&pok == 1
}

// anyAdmin reports whether one of the Authorization values carries the
// admin's credentials.
func (a *basicAuth) anyAdmin(vals []string) bool {
	for _, v := range vals {
		if a.ok(&http.Request{Header: http.Header{"Authorization": {v}}}) {
			return true
		}
	}
	return false
}

var challengeHeader = []string{`Basic realm="ferry"`}

func (a *basicAuth) challenge(w http.ResponseWriter) {
	w.Header()["Www-Authenticate"] = challengeHeader
	writeText(w, http.StatusUnauthorized, "authentication required: use basic auth with the admin user (see DATA/secrets/basic-auth-user and basic-auth-password)")
}
