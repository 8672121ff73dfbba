package trigger

import (
	"net/http"
	"strings"
	"testing"

	"github.com/ferryfaas/ferry/api"
)

func TestValidateAnnotations(t *testing.T) {
	ok := []map[string]string{
		nil,
		{"topic": "orders"},
		{"topic": " orders.created , payments_v2,x-y "},
		{"topic": "events.*,audit.>"},
		{"topic": "cron-function", "schedule": "*/5 * * * *"},
		{"topic": "cron-function", "schedule": "*/10 * * * * *"}, // seconds
		{"topic": "cron-function", "schedule": "@every 30s"},
		{"topic": "cron-function", "schedule": "@every 1s"},
		{"topic": "cron-function", "schedule": "CRON_TZ=Europe/Paris 0 0 29 2 *"}, // leap days
		{"topic": "orders", AnnotationKafkaReplyTopic: "orders-answers"},
		{"topic": "a", AnnotationAsync: "true", AnnotationConcurrency: "64", AnnotationKafkaOrdered: "false", AnnotationKafkaReplyTopic: "answers"},
		{"unrelated": "anything"},
	}
	for _, a := range ok {
		if err := ValidateAnnotations(a); err != nil {
			t.Errorf("%v: %v", a, err)
		}
	}
	bad := []struct {
		a    map[string]string
		name string
	}{
		{map[string]string{"topic": ""}, "topic"},
		{map[string]string{"topic": "a,"}, "topic"},
		{map[string]string{"topic": "a b"}, "topic"},
		{map[string]string{"topic": "a..b"}, "topic"},
		{map[string]string{"topic": "é"}, "topic"},
		{map[string]string{"topic": strings.Repeat("t", 250)}, "topic"},
		{map[string]string{"topic": "cron-function"}, "schedule"},
		{map[string]string{"topic": "cron-function", "schedule": ""}, "schedule"},
		{map[string]string{"topic": "cron-function", "schedule": "* * *"}, "schedule"},
		{map[string]string{"schedule": "not a schedule"}, "schedule"},
		{map[string]string{AnnotationAsync: "maybe"}, AnnotationAsync},
		{map[string]string{AnnotationConcurrency: "2000"}, AnnotationConcurrency},
		{map[string]string{AnnotationKafkaReplyTopic: "a.*"}, AnnotationKafkaReplyTopic},
		// Its answers would be consumed and answered again, forever.
		{map[string]string{"topic": "orders, answers", AnnotationKafkaReplyTopic: " answers "}, AnnotationKafkaReplyTopic},
		// The parser made these every second, the trigger's resolution.
		{map[string]string{"topic": "cron-function", "schedule": "@every 0s"}, "schedule"},
		{map[string]string{"topic": "cron-function", "schedule": "@every -1s"}, "schedule"},
		{map[string]string{"topic": "cron-function", "schedule": "@every 1ms"}, "schedule"},
		{map[string]string{"topic": "cron-function", "schedule": "TZ=UTC @every 999ms"}, "schedule"},
		// Never fires: 30 February, 31 April.
		{map[string]string{"topic": "cron-function", "schedule": "0 0 30 2 *"}, "schedule"},
		{map[string]string{"topic": "cron-function", "schedule": "0 0 0 31 4 *"}, "schedule"},
	}
	for _, c := range bad {
		err := ValidateAnnotations(c.a)
		if err == nil || api.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), `"`+c.name+`"`) {
			t.Errorf("%v: got %v, want a 400 naming %q", c.a, err, c.name)
		}
	}
}

// A function subscribed to the queue's subjects received every queued
// call of every function (bodies, Authorization, callback tokens) and
// answered JetStream's acknowledgement inboxes; one on _INBOX.> got every
// reply. Such topics are refused, wildcards included.
func TestTopicsReservedSubjects(t *testing.T) {
	for _, topic := range []string{"ferry.async.>", "ferry.>", ">", "*.async.fn.openfaas-fn.victim",
		"ferry.callback.*.*", "ferry.dead.>", "ferry.retry.x", "_INBOX.>", "*.*.*.*.*", "orders,ferry.*.>"} {
		err := ValidateAnnotations(map[string]string{"topic": topic})
		if api.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), `"topic"`) || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("topic %q: %v, want a 400 naming the annotation and saying the subjects are reserved", topic, err)
		}
	}
	for _, topic := range []string{"ferry", "ferry.events", "ferryx.async.a", "orders.>", "*", "events.*", "my.ferry.async.x", "_inbox_archive"} {
		if err := ValidateAnnotations(map[string]string{"topic": topic}); err != nil {
			t.Errorf("topic %q: %v", topic, err)
		}
	}
}
