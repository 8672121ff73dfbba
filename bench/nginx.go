package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ferryfaas/ferry/test/harness"
)

// NginxHop starts Debian's nginx, when installed, as a keep-alive reverse
// proxy in front of upstream (host:port): a reference for what one proxy
// hop written in C costs on this machine, to set beside the gateway's.
// One worker, no logs, no buffering, as lean as nginx goes. ok is false
// when nginx is missing; stop ends it.
func NginxHop(ctx context.Context, upstream string) (url string, stop func(), ok bool, err error) {
	bin, lerr := exec.LookPath("nginx")
	if lerr != nil {
		return "", nil, false, nil
	}
	dir, err := os.MkdirTemp("", "ferry-nginx-")
	if err != nil {
		return "", nil, true, err
	}
	addr, err := harness.FreeAddr()
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, true, err
	}
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  upstream fn { server %[2]s; keepalive 64; }
  server {
    listen %[3]s;
    location / {
      proxy_pass http://fn;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
    }
  }
}
`, dir, upstream, addr)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		os.RemoveAll(dir)
		return "", nil, true, err
	}
	kill, err := StartProc(bin, []string{"-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log")})
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, true, err
	}
	stop = func() { kill(); os.RemoveAll(dir) }
	url = "http://" + addr + "/"
	if err := WaitHTTP(ctx, url); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		stop()
		return "", nil, true, fmt.Errorf("nginx: %v: %s", err, b)
	}
	return url, stop, true, nil
}
