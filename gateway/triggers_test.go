package gateway

import (
	"testing"

	"github.com/ferryfaas/ferry/provider/providertest"
)

// A deploy or update whose trigger annotations are malformed is refused
// with a 400 that names the annotation; valid ones are accepted.
func TestTriggerAnnotationsValidated(t *testing.T) {
	fp := providertest.New()
	fp.Add(ns, "echo", 1)
	_, srv := newTestGateway(t, fp, nil)
	dep := func(name, ann string) string {
		return `{"service":"` + name + `","image":"img","annotations":{` + ann + `}}`
	}
	cases := []struct {
		name, method, body string
		code               int
		msg                string
	}{
		{"bad schedule", "POST", dep("fn1", `"topic":"cron-function","schedule":"every day"`), 400, `annotation "schedule"`},
		{"schedule missing", "POST", dep("fn1", `"topic":"cron-function"`), 400, `annotation "schedule"`},
		{"empty topic entry", "POST", dep("fn1", `"topic":"a,,b"`), 400, `annotation "topic"`},
		{"space in topic", "POST", dep("fn1", `"topic":"my topic"`), 400, `annotation "topic"`},
		{"bad ordered", "POST", dep("fn1", `"topic":"a","com.ferryfaas.kafka.ordered":"yes please"`), 400, `annotation "com.ferryfaas.kafka.ordered"`},
		{"two reply topics", "POST", dep("fn1", `"topic":"a","com.ferryfaas.kafka.reply-topic":"x,y"`), 400, `annotation "com.ferryfaas.kafka.reply-topic"`},
		{"concurrency zero", "POST", dep("fn1", `"topic":"a","com.ferryfaas.trigger.concurrency":"0"`), 400, `annotation "com.ferryfaas.trigger.concurrency"`},
		{"bad schedule on update", "PUT", dep("echo", `"topic":"cron-function","schedule":"61 * * * *"`), 400, `annotation "schedule"`},
		{"valid cron", "POST", dep("fn2", `"topic":"cron-function","schedule":"*/5 * * * *"`), 202, ""},
		{"valid topics", "POST", dep("fn3", `"topic":"orders.created, payments","com.ferryfaas.kafka.ordered":"true"`), 202, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			expect(t, call(t, c.method, srv.URL+"/system/functions", c.body, true), c.code, c.msg)
		})
	}
}
