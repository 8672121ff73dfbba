package gateway

import (
	"context"
	"log/slog"
	"time"
)

// logCall writes one line per function call when Config.LogRequests is
// set: what an operator greps for when a caller says "my call failed".
// It is off by default: a line per call costs more than the call's proxying.
func (g *Gateway) logCall(method, path string, status int, d time.Duration, callID string) {
	g.log.LogAttrs(context.Background(), slog.LevelInfo, "call",
		slog.String("method", method), slog.String("path", path), slog.Int("status", status),
		slog.Duration("duration", d), slog.String("call_id", callID))
}
