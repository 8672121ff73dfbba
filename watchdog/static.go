package watchdog

import "net/http"

// newStatic is mode static: files under static_path, directory index
// included, as of-watchdog serves them.
func newStatic(cfg Config) http.Handler { return http.FileServer(http.Dir(cfg.StaticPath)) }
