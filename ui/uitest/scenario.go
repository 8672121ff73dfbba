package uitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// Target is the server the scenario drives.
type Target struct {
	URL, User, Password string
	// Unreachable, when set, makes the gateway unreachable (e.g. stops the
	// server); the scenario then checks the portal says so. It runs last.
	Unreachable func()
}

// Scenario is one run of the portal in a browser.
type Scenario struct {
	T      testing.TB
	Target Target
	// Out receives a PNG screenshot of each page (test/e2e/out/...).
	Out   string
	ctx   context.Context
	close func()

	mu         sync.Mutex
	exceptions []string
}

const fnName, ns = "ui-echo", "openfaas-fn"

// Run logs in (after a wrong password), fails a deploy on the client and on
// the server, deploys a fork-mode function from the form, invokes it (also
// as a copied curl line and queued), sees and filters its log lines, reads
// its charts, scales it, deletes it, and checks for uncaught script errors
// and unlabelled controls along the way.
func Run(t testing.TB, tg Target, out string) {
	s := Open(t, tg, out)
	defer s.Close()
	s.steps()
}

// Open starts a fresh headless Chromium for tg (skipping the test without
// one: see RequireChromium). Close it when done: Close also fails the test
// on uncaught script errors seen meanwhile.
func Open(t testing.TB, tg Target, out string) *Scenario {
	t.Helper()
	RequireChromium(t)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	bctx, bcancel, err := NewBrowser(ctx, t.TempDir(), 1280, 900)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	var once sync.Once
	s := &Scenario{T: t, Target: tg, Out: out, ctx: bctx, close: func() { once.Do(func() { bcancel(); cancel() }) }}
	go s.collectExceptions()
	return s
}

// Close closes the browser and reports uncaught script errors.
func (s *Scenario) Close() {
	s.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.exceptions) > 0 {
		s.T.Errorf("uncaught script errors in the portal:\n%s", strings.Join(s.exceptions, "\n"))
	}
}

// SignIn opens the portal and signs in with the target's credentials.
func (s *Scenario) SignIn() {
	s.T.Helper()
	s.Do("open the portal", chromedp.Navigate(s.Target.URL+"/ui/"))
	s.Wait("the login form", `!!document.getElementById("login-form")`, 10*time.Second)
	s.Do("sign in", chromedp.SetValue(chromedp.ID("login-user"), s.Target.User),
		chromedp.SetValue(chromedp.ID("login-password"), s.Target.Password), chromedp.Click(chromedp.ID("login-submit")))
	s.Wait("the function list", `!document.getElementById("nav").hidden && document.getElementById("fn-count")?.textContent !== ""`, 15*time.Second)
}

func (s *Scenario) collectExceptions() {
	for ev, err := range chromedp.Events(s.ctx, runtime.ExceptionThrown) {
		if err != nil {
			return
		}
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = d.Exception.Description
		}
		s.mu.Lock()
		s.exceptions = append(s.exceptions, fmt.Sprintf("%s:%d: %s", d.URL, d.LineNumber, msg))
		s.mu.Unlock()
	}
}

func (s *Scenario) steps() {
	tg := s.Target
	// Opening /ui/ without credentials lands on the login form, not on the
	// browser's basic-auth dialog.
	s.Do("open the portal", chromedp.Navigate(tg.URL+"/ui/"))
	s.Wait("the login form", `location.pathname === "/ui/login" && !!document.getElementById("login-form")`, 10*time.Second)
	s.Shot("01-login")

	s.Do("type a wrong password", chromedp.SetValue(chromedp.ID("login-user"), tg.User),
		chromedp.SetValue(chromedp.ID("login-password"), "wrong-"+tg.Password), chromedp.Click(chromedp.ID("login-submit")))
	s.Wait("the wrong-password message", `document.getElementById("login-error").textContent.includes("Wrong user name or password")`, 10*time.Second)
	s.Shot("02-login-wrong-password")

	// Sign in with the keyboard only: type the password, press Enter.
	s.Do("sign in", chromedp.Evaluate[chromedp.Void](`document.getElementById("login-password").value = ""`), chromedp.Focus(chromedp.ID("login-password")),
		chromedp.KeyEvent(tg.Password+"\r"))
	s.Wait("the function list", `location.pathname === "/ui/" && !document.getElementById("nav").hidden && !!document.getElementById("fn-count") && document.getElementById("fn-count").textContent !== ""`, 15*time.Second)
	s.Shot("03-functions-empty")

	// The namespace switcher, when the server has another namespace.
	other, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#ns-switch option")].map((o) => o.value).find((v) => v !== "`+ns+`") || ""`))
	if other != "" {
		s.Do("switch namespace", chromedp.SetValue(chromedp.ID("ns-switch"), other),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("ns-switch").dispatchEvent(new Event("change"))`))
		s.Wait("the other namespace's list", `location.hash === "#/ns/`+other+`" && document.querySelector(".pagehead + .hint strong")?.textContent === "`+other+`"`, 10*time.Second)
		s.Do("switch back", chromedp.SetValue(chromedp.ID("ns-switch"), ns),
			chromedp.Evaluate[chromedp.Void](`document.getElementById("ns-switch").dispatchEvent(new Event("change"))`))
		s.Wait("the default namespace's list", `location.hash === "#/ns/`+ns+`" && document.getElementById("fn-count")?.textContent !== ""`, 10*time.Second)
	}

	s.Do("open the deploy form", chromedp.Click(chromedp.ID("nav-deploy")))
	s.Wait("the deploy form", `!!document.getElementById("deploy-form")`, 10*time.Second)
	s.labelled("deploy form")
	s.Do("fill a bad name", chromedp.SetValue(chromedp.ID("f-service"), "Bad_Name"),
		chromedp.SetValue(chromedp.ID("f-image"), "cat"), chromedp.SetValue(chromedp.ID("f-fprocess"), "cat"),
		chromedp.Click(chromedp.ID("f-submit")))
	s.Wait("the client-side name error by the field",
		`document.getElementById("f-service-error").textContent.includes("lower-case") && document.getElementById("f-service").getAttribute("aria-invalid") === "true" && document.activeElement.id === "f-service"`, 10*time.Second)
	s.Shot("04-deploy-client-error")

	// A label key the client does not check: the gateway's 400
	// (field "labels": ...) must land by the labels field.
	s.Do("fill a bad label key", chromedp.SetValue(chromedp.ID("f-service"), fnName),
		chromedp.SetValue(chromedp.ID("f-labels"), "bad key!=x"), chromedp.Click(chromedp.ID("f-submit")))
	s.Wait("the server's labels error by the field",
		`document.getElementById("f-labels-error").textContent.length > 0 && document.getElementById("f-labels").getAttribute("aria-invalid") === "true" && document.getElementById("f-service-error").textContent === ""`, 15*time.Second)
	s.Shot("05-deploy-server-error")

	// tee copies the body to stdout (the response) and to stderr (a log line).
	s.Do("deploy", chromedp.SetValue(chromedp.ID("f-labels"), "team=portal"),
		chromedp.SetValue(chromedp.ID("f-env"), "GREETING=hello"),
		chromedp.SetValue(chromedp.ID("f-fprocess"), "tee /dev/stderr"), chromedp.Click(chromedp.ID("f-submit")))
	s.Wait("the function page with a ready replica",
		`location.hash === "#/fn/`+ns+`/`+fnName+`" && (document.getElementById("replicas-value")?.textContent || "").startsWith("1 ready / 1 desired") && document.getElementById("status-value")?.textContent === "Ready"`, 60*time.Second)
	s.labelled("function page")
	s.Shot("06-function")

	const body = "hello from the portal"
	s.Do("invoke", chromedp.SetValue(chromedp.ID("inv-body"), body), chromedp.Click(chromedp.ID("inv-submit")))
	s.Wait("the response body", `document.getElementById("inv-body-out")?.textContent === "`+body+`" && document.getElementById("inv-status").textContent.includes("200")`, 30*time.Second)
	s.Wait("the log line", `[...document.querySelectorAll("#logs .line")].some((l) => l.textContent.includes("`+body+`"))`, 30*time.Second)
	s.Shot("07-invoked-and-logged")
	s.urlAndCurl(body)
	s.asyncInvoke()
	s.logsFilter()

	s.Do("scale to 2", chromedp.SetValue(chromedp.ID("scale-replicas"), "2"), chromedp.Click(chromedp.ID("scale-submit")))
	s.Wait("two ready replicas", `(document.getElementById("replicas-value")?.textContent || "").startsWith("2 ready / 2 desired")`, 60*time.Second)
	s.Wait("the charts", `!!document.querySelector("#fn-charts figure svg, #fn-charts p")`, 10*time.Second)
	s.Shot("08-scaled")
	s.charts()

	s.Do("back to the list", chromedp.Evaluate[chromedp.Void](`location.hash = "#/ns/`+ns+`"`))
	s.Wait("the function in the list", `(document.querySelector('tr[data-name="`+fnName+`"] td[data-label="Replicas"]')?.textContent || "") === "2 / 2"`, 15*time.Second)
	s.Wait("its status in the list", `(document.querySelector('tr[data-name="`+fnName+`"] td[data-label="Status"]')?.textContent || "") === "Ready"`, 15*time.Second)
	// ...and shown in its row, not floating elsewhere on the page.
	s.Wait("the status inside its row", `(() => { const row = document.querySelector('tr[data-name="`+fnName+`"]').getBoundingClientRect(), c = document.querySelector('tr[data-name="`+fnName+`"] td[data-label="Status"]').getBoundingClientRect();
		return c.top >= row.top - 1 && c.bottom <= row.bottom + 1 && c.left >= row.left - 1 && c.right <= row.right + 1; })()`, 5*time.Second)
	s.errorShare()
	s.Shot("09-functions")
	s.Do("phone size", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)))
	s.Wait("the list laid out for a phone", `document.querySelector('tr[data-name="`+fnName+`"]').getBoundingClientRect().width <= 390`, 10*time.Second)
	s.Shot("10-functions-phone")
	s.Do("open the function", chromedp.Click(chromedp.CSS(`tr[data-name="`+fnName+`"] a`)))
	s.Wait("the function page", `!!document.getElementById("delete-open") && document.documentElement.scrollWidth <= 390`, 10*time.Second)
	s.Shot("10-function-phone")
	s.phoneHeader()
	s.Do("desktop size", chromedp.EmulateViewport(1280, 900))

	// Update from the form: it comes prefilled, and the change shows.
	s.Do("edit", chromedp.Click(chromedp.ID("edit-link")))
	s.Wait("the prefilled update form", `document.getElementById("f-fprocess")?.value === "tee /dev/stderr" && document.getElementById("f-service").readOnly && document.getElementById("f-env").value === "GREETING=hello"`, 10*time.Second)
	s.Do("update", chromedp.SetValue(chromedp.ID("f-env"), "GREETING=updated"), chromedp.Click(chromedp.ID("f-submit")))
	s.Wait("the updated environment", `location.hash === "#/fn/`+ns+`/`+fnName+`" && (document.getElementById("cfg-env")?.textContent || "").includes("updated")`, 30*time.Second)
	s.Shot("11-updated")
	s.dark("11-updated-dark")
	// Escape closes the confirmation (keyboard users must be able to back out).
	s.Do("open the confirmation", chromedp.Click(chromedp.ID("delete-open")))
	s.Wait("the confirmation dialog", `document.getElementById("delete-dialog")?.open === true`, 10*time.Second)
	s.Do("press Escape", chromedp.KeyEvent(kb.Escape))
	s.Wait("the dialog gone", `!document.getElementById("delete-dialog")`, 10*time.Second)
	s.Do("ask to delete", chromedp.Click(chromedp.ID("delete-open")))
	s.Wait("the confirmation dialog", `document.getElementById("delete-dialog")?.open === true && document.activeElement.id === "delete-cancel"`, 10*time.Second)
	s.Shot("12-delete-confirm")
	s.Do("confirm", chromedp.Click(chromedp.ID("delete-confirm")))
	s.Wait("the list without the function", `location.hash === "#/ns/`+ns+`" && document.getElementById("fn-count")?.textContent !== "" && !document.querySelector('tr[data-name="`+fnName+`"]')`, 30*time.Second)
	if code := s.apiStatus("/system/function/" + fnName + "?namespace=" + ns); code != http.StatusNotFound {
		s.T.Fatalf("after delete from the portal, GET /system/function/%s answered %d, want 404", fnName, code)
	}
	s.Shot("13-deleted")

	s.secretsAndNamespaces()
	s.artifact()

	if tg.Unreachable != nil {
		// Unreachable may block until the server has drained, and the
		// portal's open log stream is one of the things it drains: so it
		// runs alongside, and the browser is closed before waiting for it.
		stopped := make(chan struct{})
		go func() { defer close(stopped); tg.Unreachable() }()
		s.Wait("the unreachable message", `document.getElementById("alert").textContent.includes("unreachable")`, 20*time.Second)
		s.Shot("16-unreachable")
		s.close()
		<-stopped
	}
}

// secretsAndNamespaces creates a secret (its value never appears on the
// page), replaces and deletes it, then creates and deletes a namespace,
// each checked on the server too.
func (s *Scenario) secretsAndNamespaces() {
	s.T.Helper()
	const key, value, team = "ui-key", "v4lue-never-shown", "ui-team"
	s.Do("open the secrets page", chromedp.Click(chromedp.ID("nav-secrets")))
	s.Wait("the secrets page", `location.hash === "#/secrets/`+ns+`" && !!document.getElementById("secret-form")`, 10*time.Second)
	s.labelled("secrets page")
	s.Do("a bad secret name", chromedp.SetValue(chromedp.ID("s-name"), "Bad_Key"), chromedp.SetValue(chromedp.ID("s-value"), value),
		chromedp.Click(chromedp.ID("s-submit")))
	s.Wait("the name error", `document.getElementById("s-name-error").textContent.includes("lower-case") && document.activeElement.id === "s-name"`, 10*time.Second)
	s.Do("create a secret", chromedp.SetValue(chromedp.ID("s-name"), key), chromedp.Click(chromedp.ID("s-submit")))
	s.Wait("the secret listed, its value gone from the page", `!!document.querySelector('tr[data-secret="`+key+`"]') && document.getElementById("s-value").value === "" && !document.body.innerHTML.includes("`+value+`")`, 10*time.Second)
	if !s.apiHas("/system/secrets?namespace="+ns, `"`+key+`"`) {
		s.T.Fatalf("the secret made in the portal is not listed by the API")
	}
	s.Shot("13a-secrets")
	s.Do("choose to replace its value", chromedp.Click(chromedp.ID("s-edit-"+key)))
	s.Wait("the form set to replace", `document.getElementById("s-name").value === "`+key+`" && document.getElementById("s-submit").textContent === "Replace value" && document.activeElement.id === "s-value"`, 5*time.Second)
	s.Shot("13a-secret-replace")
	s.Do("replace its value", chromedp.SetValue(chromedp.ID("s-value"), "new-"+value), chromedp.Click(chromedp.ID("s-submit")))
	s.Wait("the replaced message", `document.getElementById("status").textContent.includes("Replaced secret `+key+`")`, 10*time.Second)
	s.Do("delete it", chromedp.Click(chromedp.ID("s-delete-"+key)))
	s.Wait("the delete asking to confirm", `document.getElementById("s-delete-`+key+`").textContent === "Confirm delete"`, 5*time.Second)
	s.Do("confirm", chromedp.Click(chromedp.ID("s-delete-"+key)))
	s.Wait("the secret gone", `!document.querySelector('tr[data-secret="`+key+`"]') && document.getElementById("status").textContent.includes("Deleted secret")`, 10*time.Second)
	if s.apiHas("/system/secrets?namespace="+ns, `"`+key+`"`) {
		s.T.Fatalf("the secret deleted in the portal is still listed by the API")
	}

	s.Do("open the namespaces page", chromedp.Click(chromedp.ID("nav-namespaces")))
	s.Wait("the namespaces page", `!!document.getElementById("ns-form") && !!document.querySelector('tr[data-ns="`+ns+`"]')`, 10*time.Second)
	s.labelled("namespaces page")
	s.Do("create a namespace", chromedp.SetValue(chromedp.ID("n-name"), team), chromedp.Click(chromedp.ID("n-submit")))
	s.Wait("the namespace listed and in the switcher", `!!document.querySelector('tr[data-ns="`+team+`"]') && [...document.querySelectorAll("#ns-switch option")].some((o) => o.value === "`+team+`")`, 10*time.Second)
	if !s.apiHas("/system/namespaces", `"`+team+`"`) {
		s.T.Fatalf("the namespace made in the portal is not listed by the API")
	}
	s.Shot("13b-namespaces")
	s.Do("delete it", chromedp.Click(chromedp.ID("n-delete-"+team)), chromedp.Click(chromedp.ID("n-delete-"+team)))
	s.Wait("the namespace gone", `!document.querySelector('tr[data-ns="`+team+`"]')`, 10*time.Second)
	if s.apiHas("/system/namespaces", `"`+team+`"`) {
		s.T.Fatalf("the namespace deleted in the portal is still listed by the API")
	}
	s.Do("back to the functions", chromedp.Click(chromedp.ID("nav-functions")))
	s.Wait("the function list", `location.hash === "#/ns/`+ns+`" && document.getElementById("fn-count")?.textContent !== ""`, 10*time.Second)
}

// apiHas reports whether GET path answers 200 with a body containing sub.
func (s *Scenario) apiHas(path, sub string) bool {
	code, body := s.apiGet(path)
	return code == http.StatusOK && strings.Contains(body, sub)
}

// apiGet calls the gateway's API with the target's credentials.
func (s *Scenario) apiGet(path string) (int, string) {
	req, _ := http.NewRequest("GET", s.Target.URL+path, nil)
	req.SetBasicAuth(s.Target.User, s.Target.Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// artifact deploys a function from an uploaded .tar.gz and invokes it.
func (s *Scenario) artifact() {
	s.T.Helper()
	tgz := filepath.Join(s.T.TempDir(), "script.tar.gz")
	if err := writeTarGz(tgz, map[string]string{"handler.sh": "#!/bin/sh\nprintf 'script: %s' \"$(cat)\"\n"}); err != nil {
		s.T.Fatal(err)
	}
	const name = "ui-script"
	s.Do("open the deploy form", chromedp.Click(chromedp.ID("nav-deploy")))
	s.Wait("the deploy form", `!!document.getElementById("deploy-form")`, 10*time.Second)
	s.Do("choose the artifact", chromedp.SetValue(chromedp.ID("f-service"), name), chromedp.Click(chromedp.ID("src-artifact")),
		chromedp.SetUploadFiles(chromedp.ID("f-artifact"), []string{tgz}), chromedp.SetValue(chromedp.ID("f-fprocess"), "sh handler.sh"))
	s.Shot("14-deploy-artifact")
	s.Do("deploy the artifact", chromedp.Click(chromedp.ID("f-submit")))
	s.Wait("the artifact function ready", `location.hash === "#/fn/`+ns+`/`+name+`" && (document.getElementById("replicas-value")?.textContent || "").startsWith("1 ready")`, 60*time.Second)
	s.Do("invoke the artifact", chromedp.SetValue(chromedp.ID("inv-body"), "hi"), chromedp.Click(chromedp.ID("inv-submit")))
	s.Wait("the artifact's answer", `document.getElementById("inv-body-out")?.textContent === "script: hi"`, 30*time.Second)
	s.Shot("15-artifact-invoked")
}

func writeTarGz(path string, files map[string]string) error {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o755, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		tw.Write([]byte(content))
	}
	tw.Close()
	gz.Close()
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// dark takes a screenshot with the system colour scheme set to dark.
func (s *Scenario) dark(name string) {
	s.T.Helper()
	set := func(v string) {
		if _, err := chromedp.Call(s.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}}); err != nil {
			s.fail("emulate prefers-color-scheme %s: %v", v, err)
		}
	}
	set("dark")
	s.Shot(name)
	set("")
}

// Do runs browser actions; a failure ends the test with the page state.
func (s *Scenario) Do(what string, actions ...chromedp.Action[chromedp.Void]) {
	s.T.Helper()

	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		s.fail("%s: %v", what, err)
	}
}

// Wait polls a JavaScript predicate until it holds.
func (s *Scenario) Wait(what, predicate string, timeout time.Duration) {
	s.T.Helper()
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 3*time.Second {
			s.T.Logf("waited %v for %s", d.Round(time.Millisecond), what)
		}
	}()
	if err := s.holds(predicate, timeout); err != nil {
		s.fail("waiting for %s (%v): %v", what, timeout, err)
	}
}

// holds polls a JavaScript predicate until it holds or timeout passes.
func (s *Scenario) holds(predicate string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(s.ctx, timeout+5*time.Second)
	defer cancel()
	// An element the page has not rendered yet makes the predicate throw:
	// that means "not yet", not a failure.
	guarded := "(() => { try { return !!(" + predicate + "); } catch (e) { return false; } })()"
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](guarded, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	return err
}

// labelled fails when a visible form control has no label.
func (s *Scenario) labelled(page string) {
	s.T.Helper()
	ids, err := chromedp.Run(s.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("input, select, textarea, button")]
		.filter((el) => el.type !== "hidden" && el.offsetParent !== null)
		.filter((el) => el.tagName === "BUTTON" ? !el.textContent.trim() && !el.getAttribute("aria-label") : el.labels.length === 0 && !el.getAttribute("aria-label"))
		.map((el) => el.id || el.outerHTML.slice(0, 80))`))
	if err != nil {
		s.fail("check labels on the %s: %v", page, err)
	}
	if len(ids) > 0 {
		s.T.Errorf("controls without a label on the %s: %v", page, ids)
	}
}

// Shot writes a full-page PNG screenshot to Out/name.png.
func (s *Scenario) Shot(name string) { s.shot(name, chromedp.FullScreenshot(100)) }

// ShotView writes a screenshot of what the viewport shows (a phone's
// screen, say) to Out/name.png.
func (s *Scenario) ShotView(name string) { s.shot(name, chromedp.CaptureScreenshot()) }

func (s *Scenario) shot(name string, capture chromedp.Action[[]byte]) {
	s.T.Helper()

	buf, err := chromedp.Run(s.ctx, capture)
	if err != nil {
		s.T.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(s.Out, name+".png"), buf, 0o644); err != nil {
		s.T.Logf("screenshot %s: %v", name, err)
	}
}

// fail reports the page's state (URL, messages) with the error.
func (s *Scenario) fail(format string, args ...any) {
	s.T.Helper()
	state, _ := chromedp.Run(s.ctx, chromedp.Evaluate[string](`JSON.stringify({url: location.href,
		status: document.getElementById("status")?.textContent, alert: document.getElementById("alert")?.textContent,
		formError: document.getElementById("form-error")?.textContent || document.getElementById("login-error")?.textContent,
		fieldErrors: [...document.querySelectorAll(".field-error")].map((e) => e.textContent).filter(Boolean),
		conditions: document.getElementById("fn-conds")?.textContent})`))
	s.Shot("failed")
	s.mu.Lock()
	exc := strings.Join(s.exceptions, "; ")
	s.mu.Unlock()
	s.T.Fatalf(format+"\npage: %s\nscript errors: %s", append(args, state, exc)...)
}

func (s *Scenario) apiStatus(path string) int {
	code, _ := s.apiGet(path)
	return code
}
