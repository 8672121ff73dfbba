package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/ferryfaas/ferry/test/harness"
)

// Ref is a reference proxy measured in the same rounds as the gateway.
type Ref struct{ Name, URL string }

// NginxHops starts Debian's nginx, when installed, as keep-alive reverse
// proxies in front of upstream (host:port): references for what one proxy
// hop written in C costs on this machine, to set beside the gateway's.
// One worker, no logs, no buffering, as lean as nginx goes. Two servers:
// a plain hop, and one doing the gateway's header work of the contract
// (X-Call-Id, X-Start-Time, X-Forwarded-For and X-Forwarded-Host sent
// upstream, X-Call-Id answered), which the replica then parses too. ok is
// false when nginx is missing; stop ends it.
func NginxHops(ctx context.Context, upstream string) (refs []Ref, stop func(), ok bool, err error) {
	bin, lerr := exec.LookPath("nginx")
	if lerr != nil {
		return nil, nil, false, nil
	}
	dir, err := os.MkdirTemp("", "ferry-nginx-")
	if err != nil {
		return nil, nil, true, err
	}
	var addrs [2]string
	for i := range addrs {
		if addrs[i], err = harness.FreeAddr(); err != nil {
			os.RemoveAll(dir)
			return nil, nil, true, err
		}
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
  proxy_http_version 1.1;
  proxy_buffering off;
  server {
    listen %[3]s;
    location / {
      proxy_pass http://fn;
      proxy_set_header Connection "";
    }
  }
  server {
    listen %[4]s;
    location / {
      proxy_pass http://fn;
      proxy_set_header Connection "";
      proxy_set_header X-Call-Id $request_id;
      proxy_set_header X-Start-Time $msec;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Host $http_host;
      add_header X-Call-Id $request_id;
    }
  }
}
`, dir, upstream, addrs[0], addrs[1])
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, nil, true, err
	}
	kill, err := StartProc(bin, []string{"-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log")})
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, true, err
	}
	stop = func() { kill(); os.RemoveAll(dir) }
	refs = []Ref{
		{"nginx (1 worker), plain proxy", "http://" + addrs[0] + "/"},
		{"nginx (1 worker) adding the contract's headers, as the gateway does", "http://" + addrs[1] + "/"},
	}
	for _, r := range refs {
		if err := WaitHTTP(ctx, r.URL); err != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			stop()
			return nil, nil, true, fmt.Errorf("nginx: %v: %s", err, b)
		}
	}
	return refs, stop, true, nil
}
