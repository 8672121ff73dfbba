package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A gateway URL may carry the admin's credentials (http://admin:PW@host,
// as some OPENFAAS_URL settings do). Callers print Gateway: `ferry
// trigger` logged it at start and `ferry describe` shows it, so the
// password ended up in logs. Gateway never holds them; they are still
// used for the API.
func TestGatewayURLCredentialsNotInGateway(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); ok {
			got = u + ":" + p
		}
		w.Write([]byte("[]"))
	}))
	defer srv.Close()
	withCreds := strings.Replace(srv.URL, "http://", "http://admin:URLSECRET@", 1)
	c := New(withCreds, "", "")
	if strings.Contains(c.Gateway, "URLSECRET") || c.Gateway != srv.URL {
		t.Errorf("Gateway = %q, want %q", c.Gateway, srv.URL)
	}
	if _, err := c.List(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if got != "admin:URLSECRET" {
		t.Errorf("the API got basic auth %q, want the URL's", got)
	}
	// Credentials given apart (login, FERRY_PASSWORD) win, as before.
	got = ""
	if _, err := New(withCreds, "ops", "given").List(context.Background(), ""); err != nil || got != "ops:given" {
		t.Errorf("explicit credentials: %q %v", got, err)
	}
}
