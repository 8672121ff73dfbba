package queue

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/ferryfaas/ferry/api"
	"github.com/ferryfaas/ferry/queue/subjects"
)

// settingsOf reads a function's queue token and concurrency from its
// labels and annotations. Bad values (refused at deploy by
// subjects.CheckLabels since, but a function may predate that check) are
// logged and replaced by defaults.
func settingsOf(log *slog.Logger, ns, name string, st api.FunctionStatus) (token string, maxInflight int) {
	maxInflight = DefaultMaxInflight
	v := st.Labels[LabelMaxInflight]
	if v == "" {
		v = st.Annotations[LabelMaxInflight]
	}
	if v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			log.Warn("ignoring bad queue concurrency label", "function", name+"."+ns, "label", LabelMaxInflight, "value", v)
		} else {
			maxInflight = min(n, subjects.MaxInflight)
		}
	}
	named := st.Annotations[AnnotationQueue]
	if named == "" {
		named = st.Labels[AnnotationQueue]
	}
	if named != "" {
		if err := api.ValidateName("queue", named); err != nil {
			log.Warn("ignoring bad queue name; using the function's own queue", "function", name+"."+ns, "err", err)
			named = ""
		}
	}
	return queueToken(ns, name, named), maxInflight
}
