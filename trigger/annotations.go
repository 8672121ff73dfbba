package trigger

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/queue/subjects"
	"github.com/robfig/cron/v3"
)

// Annotations read by the triggers. The first two are OpenFaaS's.
const (
	// AnnotationTopic lists the topics (Kafka) or subjects (NATS) a
	// function answers, comma-separated; CronTopic marks a cron function.
	AnnotationTopic = "topic"
	// AnnotationSchedule is the cron schedule of a CronTopic function.
	AnnotationSchedule = "schedule"
	// CronTopic is the topic the OpenFaaS cron connector uses.
	CronTopic = "cron-function"
	// AnnotationAsync "true" invokes through /async-function/: the trigger
	// is done once the call is queued, and the queue retries it.
	AnnotationAsync = "com.ferryfaas.trigger.async"
	// AnnotationConcurrency caps the calls one trigger has in flight for
	// the function (default DefaultConcurrency).
	AnnotationConcurrency = "com.ferryfaas.trigger.concurrency"
	// AnnotationKafkaOrdered "true" runs one call at a time per partition
	// for the function, in offset order.
	AnnotationKafkaOrdered = "com.ferryfaas.kafka.ordered"
	// AnnotationKafkaReplyTopic names a topic the function's answer is
	// produced to.
	AnnotationKafkaReplyTopic = "com.ferryfaas.kafka.reply-topic"
)

// DefaultConcurrency is the per-function bound without AnnotationConcurrency.
const DefaultConcurrency = 8

// MaxConcurrency bounds AnnotationConcurrency.
const MaxConcurrency = 1024

// scheduleParser accepts the five-field cron syntax of the OpenFaaS cron
// connector, an optional leading seconds field, and descriptors such as
// @hourly or @every 30s.
var scheduleParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour |
	cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseSchedule parses a schedule annotation, refusing schedules the
// parser takes but that cannot mean what they say.
func ParseSchedule(s string) (cron.Schedule, error) {
	sch, err := parseSchedule(s)
	if err != nil {
		return nil, err
	}
	if _, every := sch.(cron.ConstantDelaySchedule); every {
		// The parser raises anything below 1 s (0s, -1s, 1ms included) to
		// 1 s, the trigger's resolution: it ran every second.
		_, d, _ := strings.Cut(s, "@every ")
		if dur, err := time.ParseDuration(strings.TrimSpace(d)); err != nil || dur < time.Second {
			return nil, fmt.Errorf("%.80q: @every needs at least 1s", s)
		}
	}
	// Next looks five years ahead and answers the zero time when nothing
	// matches there (30 February): such a schedule never fires.
	if sch.Next(time.Now()).IsZero() {
		return nil, fmt.Errorf("%.80q never fires (no time matches it in the next five years)", s)
	}
	return sch, nil
}

func parseSchedule(s string) (sch cron.Schedule, err error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty schedule")
	}
	// The parser panics on some input ("TZ=" with no fields after it); a
	// schedule is untrusted text, read in the triggers' own goroutines.
	defer func() {
		if recover() != nil {
			sch, err = nil, fmt.Errorf("%.80q: a time zone prefix (TZ= or CRON_TZ=) must be followed by a zone, a space and the schedule", s)
		}
	}()
	return scheduleParser.Parse(s)
}

// ParseTopics splits a topic annotation. Every entry must be a non-empty
// name of letters, digits and . _ - (Kafka's topic alphabet), or a NATS
// wildcard token * or >; "a,,b" and a trailing comma are errors, because
// they are nearly always typos.
func ParseTopics(s string) ([]string, error) {
	var out []string
	for i, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, fmt.Errorf("entry %d is empty", i+1)
		}
		if len(t) > 249 {
			return nil, fmt.Errorf("%q is longer than 249 characters", t)
		}
		for _, r := range t {
			ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
				r == '.' || r == '_' || r == '-' || r == '*' || r == '>'
			if !ok {
				return nil, fmt.Errorf("%q has %q: use letters, digits and . _ - (NATS wildcards * and >)", t, r)
			}
		}
		if strings.Contains(t, "..") || t[0] == '.' || t[len(t)-1] == '.' {
			return nil, fmt.Errorf("%q has an empty token between dots", t)
		}
		out = append(out, t)
	}
	return out, nil
}

// ValidateAnnotations checks the trigger annotations of a deployment. The
// error is an *api.Error with status 400 that names the annotation, so the
// gateway can answer it as is.
func ValidateAnnotations(a map[string]string) error {
	_, err := parseFunction("", "", a)
	return err
}

func annErr(name string, err error) error {
	return api.BadRequest("annotation %q: %w", name, err)
}

// parseFunction reads a function's subscriptions from its annotations.
func parseFunction(name, namespace string, a map[string]string) (Function, error) {
	f := Function{Name: name, Namespace: namespace, Concurrency: DefaultConcurrency}
	if v, ok := a[AnnotationTopic]; ok {
		topics, err := ParseTopics(v)
		if err != nil {
			return f, annErr(AnnotationTopic, err)
		}
		for _, t := range topics {
			if r := reserved(t); r != "" {
				return f, annErr(AnnotationTopic, fmt.Errorf("%q reaches %s, a subject reserved for Ferry's async queue and NATS inboxes: pick a topic outside %s", t, r, strings.Join(subjects.Reserved, " ")))
			}
			if t == CronTopic {
				f.Cron = true
			} else {
				f.Topics = append(f.Topics, t)
			}
		}
	}
	if v, ok := a[AnnotationSchedule]; ok || f.Cron {
		if !ok {
			return f, annErr(AnnotationSchedule, fmt.Errorf("required with %s: %s", AnnotationTopic, CronTopic))
		}
		s, err := ParseSchedule(v)
		if err != nil {
			return f, annErr(AnnotationSchedule, err)
		}
		f.Schedule, f.schedule = strings.TrimSpace(v), s
	}
	var err error
	if f.Async, err = boolAnn(a, AnnotationAsync); err != nil {
		return f, err
	}
	if f.Ordered, err = boolAnn(a, AnnotationKafkaOrdered); err != nil {
		return f, err
	}
	if v, ok := a[AnnotationConcurrency]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > MaxConcurrency {
			return f, annErr(AnnotationConcurrency, fmt.Errorf("%q: use a whole number from 1 to %d", v, MaxConcurrency))
		}
		f.Concurrency = n
	}
	if v, ok := a[AnnotationKafkaReplyTopic]; ok {
		t, err := ParseTopics(v)
		if err != nil || len(t) != 1 || strings.ContainsAny(t[0], "*>") {
			return f, annErr(AnnotationKafkaReplyTopic, fmt.Errorf("%q: name one topic", v))
		}
		if slices.Contains(f.Topics, t[0]) {
			// Each answer would be consumed and answered again, forever.
			return f, annErr(AnnotationKafkaReplyTopic, fmt.Errorf("%q is one of the function's own topics (annotation %q): the answers would run it again, in a loop", t[0], AnnotationTopic))
		}
		f.ReplyTopic = t[0]
	}
	return f, nil
}

// reserved returns the reserved subject pattern a topic (a NATS subject,
// wildcards allowed) can match a subject of, or "".
func reserved(topic string) string {
	for _, r := range subjects.Reserved {
		if overlap(strings.Split(topic, "."), strings.Split(r, ".")) {
			return r
		}
	}
	return ""
}

// overlap says whether two subject patterns match a subject in common.
func overlap(a, b []string) bool {
	for len(a) > 0 && len(b) > 0 {
		if a[0] == ">" || b[0] == ">" {
			return true
		}
		if a[0] != "*" && b[0] != "*" && a[0] != b[0] {
			return false
		}
		a, b = a[1:], b[1:]
	}
	return len(a) == len(b)
}

func boolAnn(a map[string]string, name string) (bool, error) {
	v, ok := a[name]
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return false, annErr(name, fmt.Errorf("%q: use true or false", v))
	}
	return b, nil
}
