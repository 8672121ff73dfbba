package chart

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// The triggers are off by default; each enabled one is a Deployment of
// `ferry trigger NAME` against the gateway Service, with the admin
// password and the Kafka credentials from Secrets, no Kubernetes API
// token, and the cron claims on the chart's NATS.
func TestChartTriggers(t *testing.T) {
	objs, err := render(t)
	if err != nil {
		t.Fatal(err)
	}
	for k := range objs {
		if strings.Contains(k, "trigger") {
			t.Errorf("default render has %s: triggers are opt-in", k)
		}
	}

	objs, err = render(t, "triggers.cron.enabled=true", "triggers.nats.enabled=true", "triggers.kafka.enabled=true",
		"triggers.kafka.brokers={k0:9093,k1:9093}", "triggers.kafka.tls.caSecret=kafka-ca", "triggers.kafka.tls.clientSecret=kafka-client",
		"triggers.kafka.sasl.mechanism=scram-sha-512", "triggers.kafka.sasl.existingSecret=kafka-user", "triggers.cron.replicas=3")
	if err != nil {
		t.Fatal(err)
	}
	sa := objs["ServiceAccount/openfaas/ferry-trigger"]
	if sa == nil || get(sa, "automountServiceAccountToken") != false {
		t.Errorf("trigger service account missing or mounting a token: %v", sa)
	}
	for k, o := range objs {
		if strings.Contains(k, "Binding/") && strings.Contains(fmt.Sprint(get(o, "subjects")), "ferry-trigger") {
			t.Errorf("%s binds the triggers to a role: they need none", k)
		}
	}
	for _, name := range []string{"kafka", "cron", "nats"} {
		d := objs["Deployment/openfaas/ferry-trigger-"+name]
		if d == nil {
			t.Errorf("no Deployment for the %s trigger", name)
			continue
		}
		pod := get(d, "spec", "template", "spec")
		c := get(pod, "containers", 0)
		args := get(c, "args").([]any)
		if !slices.Equal(args[:3], []any{"trigger", name, "--gateway=http://gateway.openfaas.svc:8080"}) {
			t.Errorf("%s: args %v", name, args)
		}
		if get(pod, "automountServiceAccountToken") != false || get(pod, "serviceAccountName") != "ferry-trigger" {
			t.Errorf("%s: the pod may reach the Kubernetes API: %v", name, pod)
		}
		if get(c, "env", 0, "name") != "FERRY_PASSWORD" || get(c, "env", 0, "valueFrom", "secretKeyRef", "name") != "ferry-admin" {
			t.Errorf("%s: no admin password from the Secret: %v", name, get(c, "env"))
		}
		if get(c, "resources", "limits", "memory") == nil || get(c, "image") != "ferry.local/ferry:dev" {
			t.Errorf("%s: resources %v image %v", name, get(c, "resources"), get(c, "image"))
		}
		hasNATS := slices.Contains(args, "--nats-url=nats://nats.openfaas.svc:4222")
		if hasNATS != (name != "kafka") {
			t.Errorf("%s: --nats-url given %v: %v", name, hasNATS, args)
		}
	}
	if r := get(objs["Deployment/openfaas/ferry-trigger-cron"], "spec", "replicas"); r != 3 {
		t.Errorf("triggers.cron.replicas=3: %v", r)
	}
	// The cron state lives on a volume: the root filesystem is read-only.
	cron := get(objs["Deployment/openfaas/ferry-trigger-cron"], "spec", "template", "spec", "containers", 0)
	if a := fmt.Sprint(get(cron, "args")); !strings.Contains(a, "--state=/data/cron.json") ||
		!strings.Contains(fmt.Sprint(get(cron, "volumeMounts")), "mountPath:/data") {
		t.Errorf("cron state not on the /data volume: %s %v", a, get(cron, "volumeMounts"))
	}
	k := get(objs["Deployment/openfaas/ferry-trigger-kafka"], "spec", "template", "spec", "containers", 0)
	a := fmt.Sprint(get(k, "args"))
	for _, w := range []string{"--kafka-brokers=k0:9093,k1:9093", "--kafka-tls-ca=/etc/ferry-kafka/ca/ca.crt",
		"--kafka-tls-cert=/etc/ferry-kafka/client/tls.crt", "--kafka-tls-key=/etc/ferry-kafka/client/tls.key", "--kafka-sasl-mechanism=scram-sha-512"} {
		if !strings.Contains(a, w) {
			t.Errorf("kafka args lack %s: %s", w, a)
		}
	}
	if strings.Contains(a, "password") {
		t.Errorf("a password on the kafka command line (ps shows it): %s", a)
	}
	env := fmt.Sprint(get(k, "env"))
	for _, w := range []string{"FERRY_KAFKA_SASL_USER", "FERRY_KAFKA_SASL_PASSWORD", "name:kafka-user"} {
		if !strings.Contains(env, w) {
			t.Errorf("kafka env lacks %s: %s", w, env)
		}
	}
	if objs["Service/openfaas/trigger-pods"] == nil {
		t.Error("no headless Service for Prometheus to find the triggers")
	}

	for _, c := range []struct {
		set  []string
		want string
	}{
		{[]string{"triggers.kafka.enabled=true"}, "triggers.kafka.brokers"},
		{[]string{"triggers.kafka.enabled=true", "triggers.kafka.brokers={k:9092}", "triggers.kafka.sasl.mechanism=plain"}, "triggers.kafka.sasl.existingSecret"},
		{[]string{"triggers.cron.enabled=true", "nats.enabled=false"}, "nats.external.url"},
	} {
		if _, err := render(t, c.set...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: want an error naming %s, got %v", c.set, c.want, err)
		}
	}
}
