package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"
)

// logFlags are --log-level and --log-format, for the commands that run
// until stopped (serve, queue-worker, the triggers) and so log rather
// than print.
type logFlags struct{ level, format string }

func (l *logFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&l.level, "log-level", envOr("FERRY_LOG_LEVEL", "info"), "least severe log record written: debug, info, warn or error (env FERRY_LOG_LEVEL)")
	fs.StringVar(&l.format, "log-format", envOr("FERRY_LOG_FORMAT", "text"), "log record format: text (key=value) or json, one record a line (env FERRY_LOG_FORMAT)")
}

// logger builds the command's logger on w, or says which flag is wrong.
func (l logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	switch strings.ToLower(l.level) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(l.format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", l.format)
}
