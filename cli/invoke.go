package cli

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"

	"github.com/ferryfaas/ferry/client"
	"github.com/spf13/cobra"
)

func init() { register(newInvokeCmd) }

func newInvokeCmd() *cobra.Command {
	var r remote
	var (
		namespace, method, contentType, path, callback string
		headers, query                                 []string
		async, verbose                                 bool
	)
	cmd := &cobra.Command{
		Use:   "invoke NAME",
		Short: "Call a function with stdin as the request body",
		Long: `Call a function through the gateway. The request body is read from stdin
(in a terminal, type it and end it with Ctrl+D, as with faas-cli); the response
body goes to stdout.
A non-2xx answer makes the command fail after printing the body.`,
		Example: `  echo -n hello | ferry invoke echo
  ferry invoke echo --method GET --query name=ann -H X-Trace=1 < /dev/null
  ferry invoke resize --content-type image/png < cat.png > small.png
  echo '{"id":1}' | ferry invoke worker --async   # prints the X-Call-Id`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := r.client("")
			if err != nil {
				return err
			}
			hdr := http.Header{}
			for _, h := range headers {
				k, v, ok := strings.Cut(h, "=")
				if !ok {
					k, v, ok = strings.Cut(h, ":")
				}
				if !ok || strings.TrimSpace(k) == "" {
					return usageErr(cmd, "-H %q: use NAME=VALUE", h)
				}
				hdr.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			if contentType != "" {
				hdr.Set("Content-Type", contentType)
			}
			q := url.Values{}
			for _, kv := range query {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usageErr(cmd, "--query %q: use KEY=VALUE", kv)
				}
				q.Add(k, v)
			}
			name, ns := splitName(args[0], namespace)
			// Like faas-cli, read the whole body first so it goes with a
			// Content-Length: some function servers (Python's http.server)
			// cannot read chunked request bodies.
			body, err := requestBody(cmd.InOrStdin(), cmd.ErrOrStderr(), isTerminal(cmd.InOrStdin()))
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt)
			defer stop()
			res, err := c.InvokeStream(ctx, client.InvokeRequest{
				Name: name, Namespace: ns, Path: path, Method: strings.ToUpper(method),
				Query: q, Header: hdr, Body: body, Async: async, CallbackURL: callback,
			})
			if err != nil {
				return err
			}
			defer res.Body.Close()
			if verbose {
				fmt.Fprintln(cmd.ErrOrStderr(), res.Proto, res.Status)
				for k, vs := range res.Header {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %s\n", k, strings.Join(vs, ", "))
				}
			}
			if async && res.StatusCode == http.StatusAccepted {
				fmt.Fprintf(cmd.ErrOrStderr(), "Queued: X-Call-Id %s\n", res.Header.Get("X-Call-Id"))
			}
			if comp := res.Header.Get("X-OpenFaaS-Internal"); comp != "" && (res.StatusCode < 200 || res.StatusCode > 299) {
				// The platform answered, not the function: its message is
				// the error, not output.
				b, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
				msg := strings.TrimSpace(strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)[0])
				if msg == "" {
					msg = res.Status
				}
				next := "`ferry describe " + args[0] + "`"
				if res.StatusCode == http.StatusNotFound {
					next = "`ferry list`"
				}
				return fmt.Errorf("%s answered %d: %s: see %s", comp, res.StatusCode, msg, next)
			}
			if _, err := io.Copy(cmd.OutOrStdout(), res.Body); err != nil {
				return fmt.Errorf("reading the response of %s: %v", name, err)
			}
			if res.StatusCode < 200 || res.StatusCode > 299 {
				return fmt.Errorf("function %s answered %s: see `ferry logs %s` or `ferry describe %s`", name, res.Status, args[0], args[0])
			}
			return nil
		},
	}
	addRemoteFlags(cmd, &r, false)
	fs := cmd.Flags()
	fs.StringVarP(&namespace, "namespace", "n", "", "namespace of the function (or use NAME.NAMESPACE)")
	fs.StringVarP(&method, "method", "m", "POST", "HTTP method")
	fs.StringVar(&contentType, "content-type", "", "Content-Type of the body")
	fs.StringArrayVarP(&headers, "header", "H", nil, "request header NAME=VALUE (repeatable)")
	fs.StringArrayVar(&query, "query", nil, "query parameter KEY=VALUE (repeatable)")
	fs.StringVar(&path, "path", "", "path after /function/NAME, e.g. /users/1")
	fs.BoolVarP(&async, "async", "a", false, "queue the call (answer 202 with X-Call-Id)")
	fs.StringVar(&callback, "callback-url", "", "with --async: URL that receives the result")
	fs.BoolVarP(&verbose, "verbose", "v", false, "print the status line and headers on stderr")
	return cmd
}

// requestBody reads the whole body from in. From a terminal it first says
// so on note: a command that silently waits for input looks hung.
func requestBody(in io.Reader, note io.Writer, terminal bool) (io.Reader, error) {
	if terminal {
		fmt.Fprintln(note, "Reading the request body from stdin: type it, then Ctrl+D (for no body: < /dev/null)")
	}
	b, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("reading the request body from stdin: %v", err)
	}
	return bytes.NewReader(b), nil
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
