package console_test

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The browser tests drive a real headless Chromium (one process for the
// test binary, one isolated browser context per signed-in user) against
// the real server. Without Chromium they skip, unless
// GATEHOUSE_REQUIRE_BROWSER=1 (CI), where they fail.
// GATEHOUSE_SCREENSHOTS=<dir> writes a PNG of every page visited.

//go:embed testdata/axe.min.js
var axeJS string

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

func chromiumPath() string {
	if p := os.Getenv("GATEHOUSE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// needBrowser returns the shared browser, skipping (or failing under
// GATEHOUSE_REQUIRE_BROWSER=1) when there is none.
func needBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath()
	if path == "" {
		if os.Getenv("GATEHOUSE_REQUIRE_BROWSER") == "1" {
			t.Fatal("GATEHOUSE_REQUIRE_BROWSER=1 but no Chromium found (apt-get install -y chromium, or set GATEHOUSE_CHROMIUM)")
		}
		t.Skip("browser test skipped: no Chromium found (apt-get install -y chromium, or set GATEHOUSE_CHROMIUM); GATEHOUSE_REQUIRE_BROWSER=1 makes this a failure")
	}
	if testing.Short() && os.Getenv("GATEHOUSE_REQUIRE_BROWSER") != "1" {
		t.Skip("browser test skipped in -short mode")
	}
	browser.once.Do(func() {
		dataDir, err := os.MkdirTemp("", "gatehouse-chromium-")
		if err != nil {
			browser.err = err
			return
		}
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(dataDir),
			chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		if err := chromedp.Do(bctx); err != nil {
			browser.err = fmt.Errorf("start Chromium %s: %w", path, err)
		}
		browser.ctx = bctx
		browser.cancel = func() { bcancel(); acancel(); _ = os.RemoveAll(dataDir) }
	})
	if browser.err != nil {
		t.Fatal(browser.err)
	}
	return browser.ctx
}

// tab is one browser context (its own cookies) with one page.
type tab struct {
	t   *testing.T
	e   *env
	ctx context.Context
}

func (e *env) tab(t *testing.T) *tab {
	t.Helper()
	b := needBrowser(t)
	ctx, cancel := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("browser: new context: %v", err)
	}
	return &tab{t: t, e: e, ctx: ctx}
}

// run runs one action with a deadline.
func run[T any](b *tab, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("browser: %v", err)
	}
	return v
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	run(b, chromedp.Steps(steps...))
}

func (b *tab) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.e.URL+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// signIn signs in with user's API key through the sign-in form.
func (b *tab) signIn(user string) {
	b.t.Helper()
	b.open("/console/signin")
	b.do(chromedp.SendKeys(chromedp.CSS("#api_key"), b.e.keys[user]),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#me")))
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	return run(b, chromedp.Text(chromedp.CSS(sel)))
}

// eval evaluates a JS expression, ignoring its value.
func (b *tab) eval(js string) {
	b.t.Helper()
	run(b, chromedp.Evaluate[chromedp.Void](js))
}

func evalT[T any](b *tab, js string) T {
	b.t.Helper()
	return run(b, chromedp.Evaluate[T](js))
}

func (b *tab) has(sel string) bool {
	b.t.Helper()
	return evalT[int](b, fmt.Sprintf("document.querySelectorAll(%q).length", sel)) > 0
}

// screenshot writes a PNG of the page to $GATEHOUSE_SCREENSHOTS/name.png.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := run(b, chromedp.FullScreenshot(100))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// axe runs axe-core on the page and fails on serious or critical
// violations.
func (b *tab) axe(page string) {
	b.t.Helper()
	if !evalT[bool](b, "typeof axe !== 'undefined'") {
		b.eval(axeJS + "\n;true")
	}
	type violation struct {
		ID     string     `json:"id"`
		Impact string     `json:"impact"`
		Help   string     `json:"help"`
		Nodes  [][]string `json:"nodes"`
	}
	out := run(b, chromedp.Evaluate[[]violation](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.map(n => n.target.map(String))})))`,
		chromedp.EvalAwaitPromise))
	for _, v := range out {
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("%s: axe %s (%s): %s at %v", page, v.ID, v.Impact, v.Help, v.Nodes)
		}
	}
}

// keyboard presses Tab through the page and fails if a visible control is
// never focused.
func (b *tab) keyboard(page string) {
	b.t.Helper()
	const controls = `Array.from(document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')).filter(e => !e.disabled && e.offsetParent !== null)`
	n := evalT[int](b, controls+`.map((e, i) => { e.dataset.kbd = i; return i }).length`)
	b.eval(`window.__kbd = new Set(); document.addEventListener('focusin', ev => { if (ev.target.dataset && ev.target.dataset.kbd !== undefined) window.__kbd.add(ev.target.dataset.kbd) }); if (document.activeElement) document.activeElement.blur(); true`)
	// Focusable boxes that are not controls (a table's .scroll box) are
	// Tab stops too.
	boxes := evalT[int](b, `document.querySelectorAll('[tabindex="0"]').length`)
	for i := 0; i < n+boxes+3; i++ {
		b.do(chromedp.KeyEvent(kb.Tab))
	}
	missed := evalT[[]string](b, controls+`.filter(e => !window.__kbd.has(e.dataset.kbd)).map(e => e.outerHTML.slice(0, 80))`)
	if len(missed) > 0 {
		b.t.Errorf("%s: %d of %d controls never reached with Tab: %v", page, len(missed), n, missed)
	}
}
