package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ferryfaas/ferry/queue"
	"github.com/spf13/cobra"
)

func init() { register(newQueueCmd) }

func newQueueCmd() *cobra.Command {
	q := &cobra.Command{Use: "queue", Short: "Inspect the asynchronous queue"}
	dl := &cobra.Command{Use: "dead-letters", Aliases: []string{"dlq"}, Short: "List or re-queue calls that used up their attempts"}
	dl.AddCommand(newDeadListCmd(), newDeadRedriveCmd())
	q.AddCommand(dl, newQueueStatusCmd())
	return q
}

func newDeadListCmd() *cobra.Command {
	var r remote
	var function string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List dead-lettered calls, oldest first",
		Example: `  ferry queue dead-letters list
  ferry queue dead-letters list --function resize.openfaas-fn -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.checkOutput(); err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if function != "" {
				q.Set("function", function)
			}
			var out []queue.DeadLetter
			if err := queueRequest(cmd, &r, http.MethodGet, "/system/queue/dead-letters", q, &out); err != nil {
				return err
			}
			if r.output == "json" {
				return printJSON(cmd.OutOrStdout(), out)
			}
			t := newTable(cmd.OutOrStdout(), "SEQ", "CALL ID", "FUNCTION", "METHOD", "ATTEMPTS", "LAST STATUS", "DIED", "LAST ERROR")
			now := time.Now()
			for _, d := range out {
				t.row(strconv.FormatUint(d.Seq, 10), d.CallID, d.Function, d.Method, strconv.Itoa(d.Attempts),
					strconv.Itoa(d.LastStatus), age(d.Died, now), oneLineErr(d.LastError))
			}
			return t.flush()
		},
	}
	addRemoteFlags(cmd, &r, true)
	cmd.Flags().StringVar(&function, "function", "", "only this function (NAME or NAME.NAMESPACE)")
	cmd.Flags().IntVar(&limit, "limit", 1000, "list at most this many")
	return cmd
}

func newDeadRedriveCmd() *cobra.Command {
	var r remote
	var function, seqs string
	var limit int
	cmd := &cobra.Command{
		Use:   "redrive",
		Short: "Put dead-lettered calls back on their queues with fresh attempts",
		Example: `  ferry queue dead-letters redrive                       # all of them
  ferry queue dead-letters redrive --function resize
  ferry queue dead-letters redrive --seq 12,13`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.checkOutput(); err != nil {
				return err
			}
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			if function != "" {
				q.Set("function", function)
			}
			if seqs != "" {
				q.Set("seq", seqs)
			}
			var res queue.RedriveResult
			if err := queueRequest(cmd, &r, http.MethodPost, "/system/queue/dead-letters/redrive", q, &res); err != nil {
				return err
			}
			if r.output == "json" {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Re-queued %d call(s)\n", res.Redriven)
			return nil
		},
	}
	addRemoteFlags(cmd, &r, true)
	cmd.Flags().StringVar(&function, "function", "", "only this function (NAME or NAME.NAMESPACE)")
	cmd.Flags().StringVar(&seqs, "seq", "", "only these sequence numbers (from list), comma-separated")
	cmd.Flags().IntVar(&limit, "limit", 1000, "re-queue at most this many")
	return cmd
}

// queueRequest calls a /system/queue route with the resolved gateway and
// credentials and decodes the JSON answer.
func queueRequest(cmd *cobra.Command, r *remote, method, path string, q url.Values, out any) error {
	c, err := r.client("")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(cmd.Context(), method, c.Gateway+path+"?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	req.SetBasicAuth(c.User, c.Password)
	req.Header.Set("User-Agent", c.UserAgent)
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach gateway at %s: %v (set --gateway or FERRY_URL)", c.Gateway, err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("authentication failed for %s: run `ferry login` or set FERRY_PASSWORD", c.Gateway)
	case res.StatusCode == http.StatusNotFound:
		return fmt.Errorf("gateway at %s has no queue routes (%d): is it a Ferry gateway with the async queue on?", c.Gateway, res.StatusCode)
	case res.StatusCode/100 != 2:
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return fmt.Errorf("gateway answered %d: %s", res.StatusCode, oneLineErr(string(b)))
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("gateway sent a response that is not the expected JSON (%v)", err)
	}
	return nil
}

func oneLineErr(s string) string {
	s = strings.TrimSpace(strings.SplitN(s, "\n", 2)[0])
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
