package uitest

import (
	"os/exec"
	"strings"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// urlAndCurl checks the function's URLs, copies the invoke form as a curl
// line (through the real clipboard), runs that line and gets the body
// back; the line never carries the admin's credentials.
func (s *Scenario) urlAndCurl(body string) {
	s.T.Helper()
	s.Wait("the function's URLs", `document.getElementById("fn-url").textContent === location.origin + "/function/`+fnName+`" && document.getElementById("fn-async-url").textContent === location.origin + "/async-function/`+fnName+`"`, 10*time.Second)
	for _, p := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.Call(s.ctx, browser.SetPermission, browser.SetPermissionParams{Permission: &browser.PermissionDescriptor{Name: p},
			Setting: browser.PermissionSettingGranted, Origin: s.Target.URL}); err != nil {
			s.fail("grant %s: %v", p, err)
		}
	}
	s.Do("copy as curl", chromedp.SetValue(chromedp.ID("inv-headers"), "Content-Type: text/plain"),
		chromedp.SetValue(chromedp.ID("inv-body"), body+" (it's curl)"), chromedp.Click(chromedp.ID("inv-copy-curl")))
	s.Wait("the copied message", `document.getElementById("status").textContent.includes("Copied curl command")`, 10*time.Second)
	line, err := chromedp.Run(s.ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
	if err != nil {
		s.fail("read the clipboard: %v", err)
	}
	shown, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`document.getElementById("inv-curl").textContent`))
	if line != shown || !strings.HasPrefix(line, "curl ") || !strings.Contains(line, s.Target.URL+"/function/"+fnName) {
		s.T.Fatalf("copied curl line %q (shown: %q)", line, shown)
	}
	for _, secret := range []string{s.Target.Password, "Authorization", " -u "} {
		if strings.Contains(line, secret) {
			s.T.Fatalf("the curl line carries credentials (%q): %s", secret, line)
		}
	}
	if _, err := exec.LookPath("curl"); err != nil {
		s.T.Logf("no curl on this machine: the copied line is not run")
	} else if out, err := exec.Command("sh", "-c", line).CombinedOutput(); err != nil || string(out) != body+" (it's curl)" {
		s.T.Fatalf("running the copied line %s: %v: %q", line, err, out)
	}
	s.Shot("07a-url-and-curl")
	s.Do("reset the form", chromedp.Evaluate[chromedp.Void](`document.getElementById("inv-headers").value = ""`))
}

// asyncInvoke queues a call from the invoke panel and shows its call id.
func (s *Scenario) asyncInvoke() {
	s.T.Helper()
	s.Do("queue a call", chromedp.Click(chromedp.ID("inv-async")), chromedp.SetValue(chromedp.ID("inv-body"), "queued from the portal"))
	s.Wait("the async label", `document.getElementById("inv-submit").textContent === "Queue the call" && !document.getElementById("inv-callback").closest(".field").hidden`, 5*time.Second)
	s.Do("submit", chromedp.Click(chromedp.ID("inv-submit")))
	s.Wait("the call id", `document.getElementById("inv-status")?.textContent.includes("202") && (document.querySelector("#inv-callid code")?.textContent || "").length > 0`, 30*time.Second)
	s.Shot("07b-async-invoke")
	s.Do("back to synchronous calls", chromedp.Click(chromedp.ID("inv-async")))
}

// logsFilter narrows the log view to lines with a word, marks the word,
// and keeps showing new matching lines as they arrive.
func (s *Scenario) logsFilter() {
	s.T.Helper()
	invoke := func(body string) {
		s.Do("invoke "+body, chromedp.SetValue(chromedp.ID("inv-body"), body), chromedp.Click(chromedp.ID("inv-submit")))
		s.Wait("the answer "+body, `document.getElementById("inv-body-out")?.textContent === "`+body+`"`, 30*time.Second)
	}
	invoke("unrelated line")
	s.Wait("the unrelated log line", `[...document.querySelectorAll("#logs .line")].some((l) => l.textContent.includes("unrelated line"))`, 30*time.Second)
	s.Do("type a filter", chromedp.SendKeys(chromedp.ID("logs-filter"), "PORTAL"))
	const visible = `[...document.querySelectorAll("#logs .line")].filter((l) => !l.hidden)`
	s.Wait("only matching lines, the word marked", visible+`.length > 0 && `+visible+`.every((l) => l.textContent.toLowerCase().includes("portal") && l.querySelector("mark")?.textContent.toLowerCase() === "portal") && [...document.querySelectorAll("#logs .line")].some((l) => l.hidden) && document.getElementById("logs-matches").textContent.includes("lines match")`, 10*time.Second)
	invoke("portal, again")
	s.Wait("the new matching line shown while filtered", visible+`.some((l) => l.textContent.includes("portal, again"))`, 30*time.Second)
	invoke("not shown")
	s.Wait("the new other line hidden", `[...document.querySelectorAll("#logs .line")].some((l) => l.hidden && l.textContent.includes("not shown"))`, 30*time.Second)
	s.Shot("07c-logs-filter")
	s.Do("clear the filter", chromedp.Evaluate[chromedp.Void](`{ const f = document.getElementById("logs-filter"); f.value = ""; f.dispatchEvent(new Event("input")); }`))
	s.Wait("all lines back", `![...document.querySelectorAll("#logs .line")].some((l) => l.hidden) && !document.querySelector("#logs mark")`, 5*time.Second)
}

// charts checks the axes' labels, the hover readout and the ranges.
func (s *Scenario) charts() {
	s.T.Helper()
	s.Wait("charts with labelled axes", `document.querySelectorAll("#chart-rate svg text").length >= 4 && [...document.querySelectorAll("#chart-rate svg text")].some((t) => /^\d\d:\d\d$/.test(t.textContent))`, 15*time.Second)
	// New log lines above the charts can move them from under the pointer
	// between measuring and hovering (the readout then rightly goes): hover
	// again where the chart is now, a few times.
	const readout = `!document.querySelector("#chart-rate .tip").hidden && document.querySelector("#chart-rate .tip").textContent.includes("requests/s")`
	for try := 1; ; try++ {
		xy, err := chromedp.Run(s.ctx, chromedp.Evaluate[[]float64](`(() => { document.querySelector("#chart-rate svg").scrollIntoView({ block: "center" }); const r2 = document.querySelector("#chart-rate svg").getBoundingClientRect(); return [r2.left + r2.width * 0.8, r2.top + r2.height / 2]; })()`))
		if err != nil || len(xy) != 2 {
			s.fail("chart position: %v", err)
		}
		s.Do("hover the rate chart", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, xy[0], xy[1]))
		err = s.holds(readout, 4*time.Second)
		if err == nil {
			break
		}
		if try == 3 {
			s.fail("no readout after hovering the rate chart %d times: %v", try, err)
		}
	}
	s.Shot("08a-chart-hover")
	s.Do("leave the chart", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1))
	// The keyboard reads the same values: focus a chart, press an arrow.
	// The charts are redrawn as figures come in: an svg found by one
	// DevTools call can be gone by the next ("could not find node"), and
	// one redrawn between the focus and the key takes the focus with it.
	// So the page focuses its current svg itself, and a miss is tried again.
	latencyShown := `!document.querySelector("#chart-latency .tip").hidden && document.querySelector("#chart-latency .tip").textContent.includes("p99")`
	for try := 1; ; try++ {
		s.Do("focus the latency chart", chromedp.Evaluate[chromedp.Void](`document.querySelector("#chart-latency svg").focus()`), chromedp.KeyEvent(kb.ArrowLeft))
		err := s.holds(latencyShown, 5*time.Second)
		if err == nil {
			break
		}
		if try == 3 {
			s.fail("waiting for the latency readout after %d tries: %v", try, err)
		}
	}
	s.Do("leave the chart", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 2, 2))
	for _, r := range []string{"1h", "24h"} {
		s.Do("range "+r, chromedp.Click(chromedp.ID("range-"+r)))
		s.Wait("the "+r+" charts", `document.getElementById("range-`+r+`").getAttribute("aria-pressed") === "true" && document.querySelector("#chart-rate svg").getAttribute("aria-label").includes("last `+map[string]string{"1h": "1 h", "24h": "24 h"}[r]+`")`, 15*time.Second)
	}
	// The server has not kept 24 hours: the chart says where history begins.
	s.Wait("where the history starts", `document.getElementById("charts-note").textContent.includes("since it started")`, 10*time.Second)
	s.Shot("08b-charts-24h")
	s.Do("back to 5 min", chromedp.Click(chromedp.ID("range-5m")))
}

// phoneHeader checks the header is one row on a phone, and that its menu
// opens the links.
func (s *Scenario) phoneHeader() {
	s.T.Helper()
	const row = `(() => { const kids = [...document.querySelectorAll(".top > a, #nav > *")].filter((e) => e.offsetParent !== null);
		const tops = kids.map((e) => Math.round(e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2));
		return kids.length >= 3 && Math.max(...tops) - Math.min(...tops) <= 4 && document.querySelector(".top").getBoundingClientRect().height < 64; })()`
	s.Wait("the phone header in one row", row, 10*time.Second)
	s.Do("scroll to the top", chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	s.ShotView("10a-phone-header")
	s.Do("open the menu", chromedp.Click(chromedp.ID("nav-menu")))
	s.Wait("the links", `document.getElementById("nav-deploy").offsetParent !== null && document.getElementById("nav-menu").getAttribute("aria-expanded") === "true"`, 5*time.Second)
	s.ShotView("10b-phone-menu")
	s.Do("close the menu", chromedp.Click(chromedp.ID("nav-menu")))
	s.Wait("the menu closed", `document.getElementById("nav-deploy").offsetParent === null`, 5*time.Second)
}

// errorShare checks the list shows errors as a share of the calls over a
// window, with the counts behind it on hover.
func (s *Scenario) errorShare() {
	s.T.Helper()
	const cell = `document.querySelector('tr[data-name="` + fnName + `"] td[data-label="Errors"]')`
	s.Wait("the error share in the list", `/^(<?[\d.,]+) %$/.test(`+cell+`.textContent) && /calls failed in the last|no calls in the last/.test(`+cell+`.title)`, 15*time.Second)
}
