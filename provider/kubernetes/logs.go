package kubernetes

import (
	"bufio"
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ferryfaas/ferry/api"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Logs streams the function's pod logs from the API server (the kubelet),
// one goroutine per pod, merged into one channel. Without follow the lines
// are sorted by time and cut to the last Tail.
func (p *Provider) Logs(ctx context.Context, req api.LogRequest) (<-chan api.LogMessage, error) {
	if _, err := p.Get(ctx, req.Namespace, req.Name); err != nil {
		return nil, err
	}
	pods, err := p.routes.pods.Pods(req.Namespace).List(labels.SelectorFromSet(labels.Set{LabelFunction: req.Name}))
	if err != nil {
		return nil, err
	}
	var targets []*corev1.Pod
	for _, pod := range pods {
		if req.Instance == "" || req.Instance == pod.Name {
			targets = append(targets, pod)
		}
	}
	if req.Instance != "" && len(targets) == 0 {
		return nil, api.NotFound("instance", req.Instance)
	}
	out := make(chan api.LogMessage, 64)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var collected []api.LogMessage
	for _, pod := range targets {
		opts := &corev1.PodLogOptions{Container: req.Name, Follow: req.Follow, Timestamps: true}
		if req.Tail >= 0 {
			t := int64(req.Tail)
			opts.TailLines = &t
		}
		if req.Since != nil {
			opts.SinceTime = &metav1.Time{Time: *req.Since}
		}
		wg.Add(1)
		go func(pod string) {
			defer wg.Done()
			stream, err := p.client.CoreV1().Pods(req.Namespace).GetLogs(pod, opts).Stream(ctx)
			if err != nil {
				p.log.Debug("pod logs", "pod", pod, "err", err)
				return
			}
			defer stream.Close()
			sc := bufio.NewScanner(stream)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			for sc.Scan() {
				m := parseLine(sc.Text())
				m.Name, m.Namespace, m.Instance = req.Name, req.Namespace, pod
				if !req.Follow {
					mu.Lock()
					collected = append(collected, m)
					mu.Unlock()
					continue
				}
				select {
				case out <- m:
				case <-ctx.Done():
					return
				}
			}
		}(pod.Name)
	}
	go func() {
		wg.Wait()
		if !req.Follow {
			sort.SliceStable(collected, func(i, j int) bool { return collected[i].Timestamp.Before(collected[j].Timestamp) })
			if req.Tail >= 0 && len(collected) > req.Tail {
				collected = collected[len(collected)-req.Tail:]
			}
			for _, m := range collected {
				select {
				case out <- m:
				case <-ctx.Done():
				}
			}
		}
		close(out)
	}()
	return out, nil
}

// parseLine splits "RFC3339NANO text" as written with Timestamps: true.
func parseLine(s string) api.LogMessage {
	ts, text, ok := strings.Cut(s, " ")
	if ok {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			return api.LogMessage{Timestamp: t, Text: text}
		}
	}
	return api.LogMessage{Timestamp: time.Now(), Text: s}
}
