package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/api"
	"github.com/nats-io/nats.go/jetstream"
)

// DeadLetter describes a call in the dead-letter queue (the JSON of
// GET /system/queue/dead-letters).
type DeadLetter struct {
	Seq         uint64    `json:"seq"`
	CallID      string    `json:"callId"`
	Function    string    `json:"function"` // name.namespace
	Method      string    `json:"method"`
	Path        string    `json:"path,omitempty"`
	QueryString string    `json:"queryString,omitempty"`
	CallbackURL string    `json:"callbackUrl,omitempty"`
	Attempts    int       `json:"attempts"`
	LastStatus  int       `json:"lastStatus"`
	LastError   string    `json:"lastError,omitempty"`
	BodyBytes   int64     `json:"bodyBytes"`
	Accepted    time.Time `json:"accepted"`
	Died        time.Time `json:"died"`
}

// RedriveResult is the JSON of POST /system/queue/dead-letters/redrive.
type RedriveResult struct {
	Redriven int      `json:"redriven"`
	CallIDs  []string `json:"callIds"`
}

// deadSubject filters the dead-letter stream: all, or one "name.namespace".
func deadSubject(function, defaultNS string) (string, error) {
	if function == "" {
		return subjDeadPrefix + ">", nil
	}
	name, ns := api.SplitFunctionName(function, defaultNS)
	if err := api.ValidateName("function", name); err != nil {
		return "", err
	}
	if err := api.ValidateName("namespace", ns); err != nil {
		return "", err
	}
	return subjDeadPrefix + ns + "." + name, nil
}

// walkDead calls f for up to limit dead letters in order.
func walkDead(ctx context.Context, j *JetStream, subject string, limit int, f func(seq uint64, req *Request, m jetstream.Msg) error) error {
	st, err := j.JS.Stream(ctx, StreamDead)
	if err != nil {
		return unavailable(err)
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		return unavailable(err)
	}
	var matching uint64
	for _, n := range info.State.Subjects {
		matching += n
	}
	if matching == 0 {
		return nil // an empty fetch would wait out FetchMaxWait
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		return unavailable(err)
	}
	seen, walked := 0, uint64(0) // decodable messages passed to f; all messages
	for seen < limit && walked < matching {
		// Ask for no more than exist, or the fetch waits out its MaxWait.
		batch, err := c.Fetch(int(min(256, uint64(limit-seen), matching-walked)), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return unavailable(err)
		}
		got := 0
		var last jetstream.Msg
		for m := range batch.Messages() {
			got++
			walked++
			last = m
			md, err := m.Metadata()
			if err != nil {
				return unavailable(err)
			}
			req, err := decode(m.Data())
			if err != nil {
				continue
			}
			seen++
			if err := f(md.Sequence.Stream, req, m); err != nil {
				return err
			}
			if seen >= limit {
				break
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
			return unavailable(err)
		}
		if got == 0 {
			return nil
		}
		if md, err := last.Metadata(); err == nil && md.NumPending == 0 {
			return nil
		}
	}
	return nil
}

// ListDeadLetters returns up to limit dead letters, oldest first;
// function ("name.namespace" or "") filters them.
func ListDeadLetters(ctx context.Context, j *JetStream, function, defaultNS string, limit int) ([]DeadLetter, error) {
	subj, err := deadSubject(function, defaultNS)
	if err != nil {
		return nil, err
	}
	out := []DeadLetter{}
	err = walkDead(ctx, j, subj, limit, func(seq uint64, r *Request, m jetstream.Msg) error {
		md, _ := m.Metadata()
		d := DeadLetter{Seq: seq, CallID: r.CallID, Function: r.FunctionName(), Method: r.Method, Path: r.Path,
			QueryString: r.QueryString, CallbackURL: RedactURL(r.CallbackURL), Attempts: r.Attempt, LastStatus: r.LastStatus,
			LastError: r.LastError, BodyBytes: r.BodySize, Accepted: time.Unix(0, r.StartTime).UTC()}
		if md != nil {
			d.Died = md.Timestamp.UTC()
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// Redrive puts dead letters back on their queues with fresh attempts and
// removes them from the dead-letter queue. seqs (optional) picks which.
func Redrive(ctx context.Context, j *JetStream, function, defaultNS string, seqs []uint64, limit int) (RedriveResult, error) {
	res := RedriveResult{CallIDs: []string{}}
	subj, err := deadSubject(function, defaultNS)
	if err != nil {
		return res, err
	}
	want := map[uint64]bool{}
	for _, s := range seqs {
		want[s] = true
	}
	st, err := j.JS.Stream(ctx, StreamDead)
	if err != nil {
		return res, unavailable(err)
	}
	ensured := map[string]bool{}
	err = walkDead(ctx, j, subj, limit, func(seq uint64, r *Request, m jetstream.Msg) error {
		if len(want) > 0 && !want[seq] {
			return nil
		}
		tok := m.Headers().Get(hdrQueue)
		if tok == "" {
			tok = r.QueueName
		}
		if !ensured[tok] {
			if _, err := j.JS.Consumer(ctx, StreamWork, consumerName(tok)); errors.Is(err, jetstream.ErrConsumerNotFound) {
				if err := j.ensureConsumer(ctx, tok, DefaultMaxInflight, 0); err != nil {
					return unavailable(err)
				}
			}
			ensured[tok] = true
		}
		r.Attempt, r.LastStatus, r.LastError = 0, 0, ""
		data, err := r.encode()
		if err != nil {
			return err
		}
		if err := publishData(ctx, j, subjWorkPrefix+tok, data, nil); err != nil {
			return err
		}
		if err := st.DeleteMsg(ctx, seq); err != nil {
			return unavailable(fmt.Errorf("re-queued call %s but could not remove it from the dead letters: %w", r.CallID, err))
		}
		res.Redriven++
		res.CallIDs = append(res.CallIDs, r.CallID)
		return nil
	})
	return res, err
}

// ParseSeqs reads "1,2,3".
func ParseSeqs(s string) ([]uint64, error) {
	var out []uint64
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		var n uint64
		if _, err := fmt.Sscan(p, &n); err != nil {
			return nil, api.BadRequest("seq %q is not a number", p)
		}
		out = append(out, n)
	}
	return out, nil
}
