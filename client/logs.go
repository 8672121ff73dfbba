package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ferryfaas/ferry/api"
)

// Logs streams GET /system/logs (NDJSON) and calls fn for each message
// until the stream ends, ctx is cancelled (returns nil) or fn fails.
func (c *Client) Logs(ctx context.Context, req api.LogRequest, fn func(api.LogMessage) error) error {
	q := url.Values{"name": {req.Name}}
	if req.Namespace != "" {
		q.Set("namespace", req.Namespace)
	}
	if req.Instance != "" {
		q.Set("instance", req.Instance)
	}
	if req.Tail >= 0 {
		q.Set("tail", strconv.Itoa(req.Tail))
	}
	if req.Since != nil {
		q.Set("since", req.Since.UTC().Format(time.RFC3339))
	}
	q.Set("follow", strconv.FormatBool(req.Follow))
	res, err := c.do(ctx, http.MethodGet, "/system/logs", q, nil, http.Header{"Accept": {"application/x-ndjson"}})
	if err != nil {
		return err
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var m api.LogMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return fmt.Errorf("gateway sent a log line that is not JSON (%v): is this a Ferry/OpenFaaS gateway?", err)
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil && ctx.Err() == nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("log stream from %s broke: %v", c.Gateway, err)
	}
	return nil
}
