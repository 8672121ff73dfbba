package queue

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A selection the redrive route does not read is refused before anything
// is redriven: a JSON body or a misspelt parameter used to be ignored, and
// every dead letter redriven.
func TestRedriveRefusesWhatItWouldIgnore(t *testing.T) {
	d := &DeadLetterHandlers{} // no JetStream: nothing may get that far
	for _, tc := range []struct{ target, body, want string }{
		{"/system/queue/dead-letters/redrive", `{"seq":[1,2]}`, "takes no body"},
		{"/system/queue/dead-letters/redrive?sequence=3", "", `unknown query parameter "sequence"`},
		{"/system/queue/dead-letters/redrive?fn=a", "", "takes function, seq, limit"},
	} {
		rec := httptest.NewRecorder()
		d.Redrive().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, tc.target, strings.NewReader(tc.body)))
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s %q: %d %q, want 400 saying %q", tc.target, tc.body, rec.Code, rec.Body, tc.want)
		}
	}
	rec := httptest.NewRecorder()
	d.List().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/system/queue/dead-letters?functon=a", nil))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("list with a misspelt parameter: %d, want 400", rec.Code)
	}
}
