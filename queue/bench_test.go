package queue

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkEnqueue measures the enqueue path (handler + JetStream ack) in
// process, without HTTP transport: go test -bench Enqueue -cpu 64 ./queue/
func BenchmarkEnqueue(b *testing.B) {
	r := newRigB(b)
	r.fns.add("openfaas-fn", "echo", nil, nil)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/async-function/echo", strings.NewReader("hello ferry"))
			w := httptest.NewRecorder()
			r.enq.ServeHTTP(w, req)
			if w.Code != http.StatusAccepted {
				b.Fatalf("enqueue: %d %s", w.Code, w.Body)
			}
		}
	})
}
