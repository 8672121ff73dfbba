// Package watchdog is Ferry's function watchdog: a small HTTP server that
// turns a process into a function, following the OpenFaaS of-watchdog /
// classic watchdog environment contract. cmd/watchdog (a static binary) and
// `ferry watchdog` run it through Main; embedders call ConfigFromEnv and Run.
//
// Environment (OpenFaaS names and defaults):
//
//	fprocess              the function's command; without shell metacharacters it
//	                      is split on spaces and run directly, else via /bin/sh -c
//	mode                  http | streaming (default) | serializing | static
//	upstream_url          mode http: where fprocess listens (http://127.0.0.1:3000)
//	port                  8080 (0: any free port)
//	metrics_port          8081 (0: no metrics server)
//	read_timeout          10s   durations: "10s", "1m" or bare seconds "10", "2.5"
//	write_timeout         10s
//	exec_timeout          10s per request (0: none); fork killed -> 408, http -> 504
//	healthcheck_interval  drain time after SIGTERM; default min(write_timeout, 5s)
//	max_inflight          0 = unlimited; above it requests get 429, /_/ready 429
//	content_type          forced response Content-Type (fork modes)
//	prefix_logs           true: function output lines logged as "stderr: line"
//	log_format            text (key=value) or json: the watchdog's own records
//	                      (the function's output lines are written as they come)
//	combine_output        false: fork modes send stderr to the log, not the response
//	suppress_lock         false: write $TMPDIR/.lock once ready
//	static_path           /home/app/public (mode static)
//	buffer_http           (or http_buffer_req_body) mode http: buffer request bodies
//
// Ferry extensions, used by the process runtime:
//
//	bind_address          "" = all interfaces (the runtime sets 127.0.0.1)
//	FERRY_READY_FD=n      once ready (listening and, in mode http, the upstream
//	                      accepts connections) write "ready\n" to fd n and close it
//	FERRY_SECRETS_BIND    Linux, root, inside a fresh mount namespace: bind that
//	                      directory read-only at /var/openfaas/secrets
//	FERRY_WORKDIR_BIND    likewise: bind the function's code at /home/app (the cwd)
//	FERRY_TMP_BIND        likewise: bind a private directory at /var/openfaas/tmp (TMPDIR)
//	FERRY_UID, FERRY_GID  Linux, root: drop to this user before any function runs
//	FERRY_CGROUPS         Linux, root: cgroup dirs (colon-separated) joined before anything starts
//	                      (the process provider starts the watchdog inside them on cgroup v1)
//	FERRY_UNIX_SOCKET     also serve on this Unix socket ('@' first: an abstract name)
//	FERRY_UNIX_FD         serve the listening socket inherited as fd n (3 or more) instead of
//	                      binding FERRY_UNIX_SOCKET, which then names it (the process
//	                      provider binds a random name itself, so no function takes it first)
//	FERRY_LISTEN_FD       serve the TCP listener inherited as fd n instead of binding port
//	FERRY_METRICS_FD      likewise for metrics_port (the process provider binds both and
//	                      holds them for the replica's life: no other process can take them)
//
// FERRY_* variables are removed from the function's environment, except
// those in FunctionFerryVars (FERRY_GATEWAY_URL).
//
// Endpoints: /_/health (200; 503 while starting or draining), /_/ready (as
// health, plus 429 at max_inflight); everything else goes to the function.
// Fork modes give the function the request as Http_* variables (see
// RequestEnv). Every response carries X-Duration-Seconds. On SIGTERM the
// watchdog turns unhealthy, removes the lock file, keeps serving for
// healthcheck_interval, then finishes in-flight requests and exits 0; in mode
// http the function then gets SIGTERM (SIGKILL after 5s). If the function of
// mode http exits, the watchdog exits non-zero so its supervisor restarts it.
package watchdog
