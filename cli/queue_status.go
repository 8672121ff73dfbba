package cli

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/ferryfaas/ferry/queue"
	"github.com/spf13/cobra"
)

// newQueueStatusCmd is `ferry queue status`: what every queue holds now,
// across all workers.
func newQueueStatusCmd() *cobra.Command {
	var r remote
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each function's queued calls: waiting, running, retrying, dead-lettered, callbacks to deliver",
		Example: `  ferry queue status
  ferry queue status -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.checkOutput(); err != nil {
				return err
			}
			var out []queue.QueueStatus
			if err := queueRequest(cmd, &r, http.MethodGet, "/system/queue/status", url.Values{}, &out); err != nil {
				return err
			}
			if r.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			t := newTable(cmd.OutOrStdout(), "QUEUE", "FUNCTION", "WAITING", "RUNNING", "RETRYING", "DEAD LETTERS", "CALLBACKS PENDING")
			for _, q := range out {
				fn := q.Function
				if fn == "" {
					fn = "(named queue)"
				}
				t.row(q.Queue, fn, strconv.FormatUint(q.Pending, 10), strconv.Itoa(q.InFlight), strconv.FormatUint(q.Retrying, 10),
					strconv.FormatUint(q.DeadLetters, 10), strconv.FormatUint(q.CallbacksPending, 10))
			}
			return t.flush()
		},
	}
	addRemoteFlags(cmd, &r, true)
	return cmd
}
