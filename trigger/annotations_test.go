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
	}
	for _, c := range bad {
		err := ValidateAnnotations(c.a)
		if err == nil || api.StatusOf(err) != http.StatusBadRequest || !strings.Contains(err.Error(), `"`+c.name+`"`) {
			t.Errorf("%v: got %v, want a 400 naming %q", c.a, err, c.name)
		}
	}
}
