package queue

import (
	"log/slog"
	"strconv"
	"strings"

	"github.com/ferryfaas/ferry/api"
)

// settingsOf reads a function's queue token and concurrency from its
// labels and annotations. Bad values are logged and replaced by defaults,
// never refused: the function was already deployed with them.
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
			maxInflight = min(n, 10000)
		}
	}
	named := st.Annotations[AnnotationQueue]
	if named == "" {
		named = st.Labels[AnnotationQueue]
	}
	if named != "" {
		if err := api.ValidateName("queue", named); err != nil {
			log.Warn("ignoring bad queue name; using the function's own queue", "function", name+"."+ns, "error", err)
			named = ""
		}
	}
	return queueToken(ns, name, named), maxInflight
}
