package uitest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Weight is what the portal costs a browser (medians over the runs).
type Weight struct {
	Runs int
	// ColdBytes is every byte received (headers + encoded bodies, from the
	// network events) from opening /ui/ with an empty cache until the
	// function list is on screen after signing in, API calls included.
	ColdBytes float64
	// FirstPaint is the first-contentful-paint of the login page (cold).
	FirstPaint time.Duration
	// LoginToList is from pressing "Sign in" to the function list rendered.
	LoginToList time.Duration
	// ReloadToList is a reload of /ui/ with a signed-in tab (warm cache):
	// from navigation start to the function list rendered.
	ReloadToList time.Duration
	// ReloadBytes is what that reload transferred.
	ReloadBytes float64
}

// Measure loads the portal runs times, each in a new tab of one headless
// Chromium with its cache cleared, and reports the medians. The browser
// is started before the first run, as a user's browser would be.
func Measure(ctx context.Context, url, user, password, profileDir string, runs int) (Weight, error) {
	bctx, cancel, err := NewBrowser(ctx, profileDir, 1280, 900)
	if err != nil {
		return Weight{}, err
	}
	defer cancel()
	all := make([]Weight, 0, runs)
	for i := 0; i < runs; i++ {
		tab, closeTab := chromedp.NewContext(bctx)
		w, err := measureOnce(tab, url, user, password)
		closeTab()
		if err != nil {
			return Weight{}, fmt.Errorf("run %d: %w", i+1, err)
		}
		all = append(all, w)
	}
	med := func(f func(Weight) float64) float64 {
		v := make([]float64, len(all))
		for i, w := range all {
			v[i] = f(w)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	d := func(f func(Weight) time.Duration) time.Duration {
		return time.Duration(med(func(w Weight) float64 { return float64(f(w)) }))
	}
	return Weight{
		Runs:         runs,
		ColdBytes:    med(func(w Weight) float64 { return w.ColdBytes }),
		FirstPaint:   d(func(w Weight) time.Duration { return w.FirstPaint }),
		LoginToList:  d(func(w Weight) time.Duration { return w.LoginToList }),
		ReloadToList: d(func(w Weight) time.Duration { return w.ReloadToList }),
		ReloadBytes:  med(func(w Weight) float64 { return w.ReloadBytes }),
	}, nil
}

func measureOnce(tab context.Context, url, user, password string) (Weight, error) {
	var w Weight
	if err := chromedp.Do(tab); err != nil {
		return w, err
	}
	if _, err := chromedp.Call(tab, network.Enable, network.EnableParams{}); err != nil {
		return w, err
	}
	if _, err := chromedp.Call(tab, network.ClearBrowserCache, cdp.Empty{}); err != nil {
		return w, err
	}
	var mu sync.Mutex
	var bytes float64
	evctx, stop := context.WithCancel(tab)
	defer stop()
	finished := chromedp.Events(evctx, network.LoadingFinished)
	go func() {
		for ev, err := range finished {
			if err != nil {
				return
			}
			mu.Lock()
			bytes += ev.EncodedDataLength
			mu.Unlock()
		}
	}()
	received := func() float64 { mu.Lock(); defer mu.Unlock(); return bytes }
	step := func(what string, a ...chromedp.Action[chromedp.Void]) error {
		sctx, c := context.WithTimeout(tab, 30*time.Second)
		defer c()
		if err := chromedp.Do(sctx, a...); err != nil {
			return fmt.Errorf("portal: %s: %w", what, err)
		}
		return nil
	}
	wait := func(what, pred string) error {
		_, err := chromedp.Run(tab, chromedp.Poll[bool](pred, chromedp.WithPollingInterval(5*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
		if err != nil {
			return fmt.Errorf("portal: waiting for %s: %w", what, err)
		}
		return nil
	}
	ms := func(expr string) (time.Duration, error) {
		v, err := chromedp.Run(tab, chromedp.Evaluate[float64](expr))
		return time.Duration(v * float64(time.Millisecond)), err
	}
	const listMark = `performance.getEntriesByName("ferry:list").length > 0`

	if err := step("open /ui/", chromedp.Navigate(url+"/ui/")); err != nil {
		return w, err
	}
	if err := wait("the login form", `!!document.getElementById("login-form") && performance.getEntriesByName("first-contentful-paint").length > 0`); err != nil {
		return w, err
	}
	var err error
	if w.FirstPaint, err = ms(`performance.getEntriesByName("first-contentful-paint")[0].startTime`); err != nil {
		return w, err
	}
	if err := step("sign in", chromedp.SetValue(chromedp.ID("login-user"), user), chromedp.SetValue(chromedp.ID("login-password"), password),
		chromedp.Evaluate[chromedp.Void](`window.__t0 = performance.now()`), chromedp.Click(chromedp.ID("login-submit"))); err != nil {
		return w, err
	}
	if err := wait("the function list", listMark); err != nil {
		return w, err
	}
	w.ColdBytes = received()
	if w.LoginToList, err = ms(`performance.getEntriesByName("ferry:list")[0].startTime - window.__t0`); err != nil {
		return w, err
	}

	before := received()
	if err := step("reload", chromedp.Navigate(url+"/ui/")); err != nil {
		return w, err
	}
	if err := wait("the function list after reload", listMark); err != nil {
		return w, err
	}
	w.ReloadBytes = received() - before
	if w.ReloadToList, err = ms(`performance.getEntriesByName("ferry:list")[0].startTime`); err != nil {
		return w, err
	}
	return w, nil
}
