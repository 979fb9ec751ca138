package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/staffsync/staffsync/internal/config"
	"github.com/staffsync/staffsync/internal/console"
	"github.com/staffsync/staffsync/internal/local"
	personioapi "github.com/staffsync/staffsync/internal/personio"
	"github.com/staffsync/staffsync/internal/phases"
	staffomaticsim "github.com/staffsync/staffsync/internal/sandbox/staffomatic"
)

// chromiumPath is Debian's chromium, which `make tools` installs; STAFFSYNC_CHROMIUM names
// another binary.
func chromiumPath(t *testing.T) string {
	p := os.Getenv("STAFFSYNC_CHROMIUM")
	if p == "" {
		p = "/usr/bin/chromium"
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("the browser tests need chromium at %s: run `make tools` (apt-get install chromium) or set STAFFSYNC_CHROMIUM", p)
	}
	return p
}

// system is staffsync dev in this process, started empty (no tenant), with the simulated
// Personio and Staffomatic beside it for the wizard to connect to.
type system struct {
	base        string
	operatorKey string
	sb          *local.Sandbox
}

func startSystem(t *testing.T) system {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sb, err := local.StartSandbox(time.Now(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan local.Ready, 1)
	done := make(chan error, 1)
	const key = "op_browser-test-operator-key"
	go func() {
		done <- local.Run(ctx, local.Options{Addr: "127.0.0.1:0", OperatorKey: key, Config: cfg, Log: log, Ready: ready,
			KeyFile: filepath.Join(t.TempDir(), "key"), Phases: local.DefaultPhases()})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case r := <-ready:
		return system{base: r.BaseURL, operatorKey: key, sb: sb}
	case err := <-done:
		t.Fatalf("staffsync dev stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("staffsync dev did not start")
	}
	return system{}
}

// apiGet reads a route of the API directly, to check what the console did.
func (s system) apiGet(t *testing.T, token, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}

// browserSession is one headless chromium with a fresh profile, recording the page's
// exceptions and console errors (a CSP violation is one).
type browserSession struct {
	t     *testing.T
	ctx   context.Context
	shots string
	n     int
	// window: screenshots of the window only (the README's picture) instead of the whole
	// page, which shows a reviewer what lies below the fold too.
	window   bool
	mu       sync.Mutex
	problems []string
}

func newBrowser(t *testing.T, extra ...chromedp.ExecAllocatorOption) *browserSession {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-extensions", true), chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	opts = append(opts, extra...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	shots := os.Getenv("STAFFSYNC_SCREENSHOTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "staffsync-console-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots: %s", shots)
	b := &browserSession{t: t, ctx: ctx, shots: shots}
	// The first call starts the browser; it must not carry a deadline (that would end the
	// browser with it).
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				d += " " + e.ExceptionDetails.Exception.Description
			}
			b.problems = append(b.problems, "exception: "+d)
		case *cdplog.EventEntryAdded:
			// A refused API call is the browser's network error log, expected where the
			// test provokes one; anything else at error level (CSP above all) is not. The
			// console's Cross-Origin-Opener-Policy is ignored, with an error, on a plain-http
			// origin other than localhost (a deployed console is https): that one is expected.
			if e.Entry.Level == cdplog.EntryLevelError && e.Entry.Source != cdplog.EntrySourceNetwork &&
				!strings.Contains(e.Entry.Text, "Cross-Origin-Opener-Policy header has been ignored") {
				b.problems = append(b.problems, string(e.Entry.Source)+": "+e.Entry.Text)
			}
		}
	})
	if err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, runtime.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	return b
}

// fail ends the test with a screenshot and the error the page shows.
func (b *browserSession) fail(format string, args ...any) {
	b.t.Helper()
	b.shot("failure")
	var errText string
	errText, _ = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('error').textContent`))
	b.mu.Lock()
	for _, p := range b.problems {
		b.t.Logf("page problem: %s", p)
	}
	b.mu.Unlock()
	b.t.Fatalf(format+" (error shown: %q)", append(args, errText)...)
}

// do runs actions with a deadline.
func (b *browserSession) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail("browser: %v", err)
	}
}

func (b *browserSession) click(css string) {
	b.t.Helper()
	b.do(chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

func (b *browserSession) typeIn(css, v string) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS(css), v, chromedp.NodeVisible))
}

// set sets a field's value as a user's choice would, with its input and change events.
func (b *browserSession) set(css, v string) {
	b.t.Helper()
	b.waitJS(`document.querySelector(` + jsString(css) + `)`)
	evalAs[bool](b, `(() => { const e = document.querySelector(`+jsString(css)+`); e.value = `+jsString(v)+`;
		e.dispatchEvent(new Event('input')); e.dispatchEvent(new Event('change')); return true })()`)
}

// shot writes a screenshot of the window to the screenshots folder.
func (b *browserSession) shot(name string) {
	b.t.Helper()
	if name != "failure" {
		// From the top: the step's heading and its messages are what a reviewer looks for.
		evalAs[bool](b, `(() => { window.scrollTo(0, 0); return true })()`)
	}
	// The whole page unless it is so long (the protocol) that a picture of it is unreadable.
	capture := chromedp.FullScreenshot(100)
	if b.window || name == "failure" || evalAs[int](b, `document.documentElement.scrollHeight`) > 3000 {
		capture = chromedp.CaptureScreenshot()
	}
	png, err := chromedp.Run(b.ctx, capture)
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	b.n++
	file := fmt.Sprintf("%s-%02d-%s.png", strings.TrimPrefix(b.t.Name(), "Test"), b.n, name)
	if err := os.WriteFile(filepath.Join(b.shots, file), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browserSession) text(css string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		b.fail("text of %s: %v", css, err)
	}
	return s
}

// evalAs evaluates a JavaScript expression of the page.
func evalAs[T any](b *browserSession, expr string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		b.fail("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until expr is true in the page.
func (b *browserSession) waitJS(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for !evalAs[bool](b, "!!("+expr+")") {
		if time.Now().After(deadline) {
			b.fail("timed out waiting for %s", expr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// answer answers the confirmation dialog with the keyboard, as the question is asked: the
// focus starts on Cancel (Enter there changes nothing); Tab moves to the button that acts.
func (b *browserSession) answer(yes bool) {
	b.t.Helper()
	b.waitJS(`document.getElementById('confirm-dialog').open && document.activeElement.id === 'confirm-cancel'`)
	if yes {
		b.do(chromedp.KeyEvent("\t"))
		b.waitJS(`document.activeElement.id === 'confirm-ok'`)
	}
	b.do(chromedp.KeyEvent("\r"))
	b.waitJS(`!document.getElementById('confirm-dialog').open`)
}

func (b *browserSession) confirm() { b.t.Helper(); b.answer(true) }

func (b *browserSession) noProblems() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("page problem: %s", p)
	}
}

const errorShown = `!document.getElementById('error').hidden && document.getElementById('error').textContent.length > 0`

// TestConsoleEndToEnd drives the console in headless chromium against staffsync dev, from
// a system without any tenant to a first synced Staffomatic account: a wrong token, the
// operator's sign-in, step 1 with an API error shown as its message, then with the
// uploaded credentials file and the missing-attribute report, steps 2 to 4, the selection
// filter, search, switches and bulk switches, the checks, a dry run and its diff (nothing
// written), Sync Now and its live status (the users are in Staffomatic), runs, the
// protocol filter and its CSV, the language switch, secret rotation behind its
// confirmation, and the sign-in link. Each step leaves a screenshot.
func TestConsoleEndToEnd(t *testing.T) {
	s := startSystem(t)
	b := newBrowser(t)
	demo := s.sb.Demo
	acct := s.sb.Staffomatic.Account(demo.StaffomaticSubdomain)
	usersBefore := len(acct.Users())

	b.do(chromedp.Navigate(s.base + "/console/"))
	b.waitJS(`document.body.dataset.ready`)
	b.do(chromedp.WaitVisible(chromedp.ID("signin-token")))
	b.shot("signin")

	// With the keyboard alone: Tab reaches the skip link, the language, the token field
	// (each with a visible focus ring), and Enter signs in. A wrong token: the API's 401,
	// said in words, and the page stays signed out.
	for _, want := range []string{"skip", "lang", "signin-token"} {
		b.do(chromedp.KeyEvent("\t"))
		got := evalAs[string](b, `document.activeElement.id || document.activeElement.className`)
		if got != want {
			t.Fatalf("Tab focused %q, want %q", got, want)
		}
		if style := evalAs[string](b, `getComputedStyle(document.activeElement).outlineStyle`); style == "none" {
			t.Errorf("no visible focus on %s", want)
		}
	}
	b.do(chromedp.KeyEvent("sst_nobody-here.wrongsecret\r"))
	b.waitJS(errorShown)
	msg := b.text(`#error`)
	if !strings.Contains(msg, "not accepted") || strings.Contains(msg, "{") {
		t.Errorf("wrong token: error %q, want a sentence without JSON", msg)
	}
	// The API's own sentence is the small print under the page's.
	if detail := b.text(`#error .detail`); !strings.Contains(detail, "not valid") {
		t.Errorf("wrong token: the API's sentence %q", detail)
	}
	if stored := evalAs[string](b, `sessionStorage.getItem('staffsync.token') || ''`); stored != "" {
		t.Errorf("a refused token was stored: %q", stored)
	}
	b.shot("wrong-token")

	// The operator signs in and gets step 1 for a new tenant.
	b.set(`#signin-token`, s.operatorKey)
	b.click(`#signin-form button[type=submit]`)
	b.do(chromedp.WaitVisible(chromedp.ID("cred-name")))
	b.typeIn(`#cred-name`, "Browser Gastro")
	b.typeIn(`#cred-client-id`, demo.PersonioClientID)
	b.typeIn(`#cred-client-secret`, demo.PersonioClientSecret)
	b.typeIn(`#cred-subdomain`, demo.StaffomaticSubdomain)
	b.typeIn(`#cred-email`, demo.StaffomaticEmail)
	b.typeIn(`#cred-password`, "not-the-password")
	b.click(`#cred-form details summary`)
	b.typeIn(`#cred-personio-url`, s.sb.PersonioURL)
	b.typeIn(`#cred-staffomatic-url`, s.sb.StaffomaticURL)
	b.click(`#cred-save`)
	// An API error (Staffomatic refuses the password) is the API's message, not a body.
	b.waitJS(errorShown)
	msg = b.text(`#error`)
	if strings.Contains(msg, "{") || strings.Contains(msg, `"error"`) || !strings.Contains(msg, "Staffomatic refused the credentials") {
		t.Errorf("API error shown as %q, want the API's sentence about Staffomatic", msg)
	}
	if invalid := evalAs[string](b, `[...document.querySelectorAll('[aria-invalid="true"]')].map(e => e.id).join()`); invalid != "cred-password" {
		t.Errorf("the field the API names is not marked: %q", invalid)
	}
	if !strings.Contains(msg, "Field: Admin password") {
		t.Errorf("the error names the field %q, want its label on screen (Admin password)", msg)
	}
	b.shot("api-error")

	// An uploaded credentials file: the API reads it (this one is not Personio's file, and
	// the API says so with the field). With another Personio address the console refuses
	// the file first, as the API would send its secret to Personio's own address.
	file := filepath.Join(t.TempDir(), "personio-credentials.txt")
	if err := os.WriteFile(file, []byte("hello: world\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b.click(`#cred-mode-file`)
	b.do(chromedp.SetUploadFiles(chromedp.CSS(`#cred-file`), []string{file}))
	b.click(`#cred-save`)
	b.waitJS(`document.getElementById('error').textContent.includes('Personio API address')`)
	b.set(`#cred-personio-url`, "")
	b.click(`#cred-save`)
	b.waitJS(`document.getElementById('error').textContent.includes('Field: Personio credentials file')`)
	if invalid := evalAs[string](b, `[...document.querySelectorAll('[aria-invalid="true"]')].map(e => e.id).join()`); invalid != "cred-file" {
		t.Errorf("the credentials file error marks %q, want cred-file", invalid)
	}
	b.shot("credentials-file-error")

	// Typed again, with the right password, while the Personio credential hides two of
	// the attributes the sync needs: the report names them.
	var readable []string
	for _, a := range personioapi.RequiredAttributes {
		if a.Key != "hire_date" && a.Key != "absence_entitlement" {
			readable = append(readable, a.Key)
		}
	}
	if err := s.sb.Personio.SetAttributeWhitelist(demo.PersonioClientID, readable); err != nil {
		t.Fatal(err)
	}
	b.click(`#cred-mode-typed`)
	b.set(`#cred-personio-url`, s.sb.PersonioURL)
	b.set(`#cred-password`, demo.StaffomaticPassword)
	b.click(`#cred-save`)
	b.do(chromedp.WaitVisible(chromedp.CSS(`#secret-dialog[open]`)))
	adminToken := b.text(`#secret-list code[data-secret="admin_token"]`)
	if !strings.HasPrefix(adminToken, "sst_") || !strings.Contains(adminToken, ".") {
		t.Fatalf("admin token shown once: %q", adminToken)
	}
	b.shot("tenant-created")
	b.click(`#secret-done`)
	b.do(chromedp.WaitVisible(chromedp.ID("cred-result")))
	b.waitJS(`document.querySelectorAll('#secret-list *').length === 0`)
	if evalAs[bool](b, `document.documentElement.outerHTML.includes(`+jsString(adminToken)+`)`) {
		t.Error("the admin token stays on the page")
	}
	if stored := evalAs[string](b, `sessionStorage.getItem('staffsync.token')`); stored != adminToken {
		t.Errorf("session token %q, want the new admin token", stored)
	}
	if left := evalAs[string](b, `document.getElementById('cred-client-secret').value + document.getElementById('cred-password').value`); left != "" {
		t.Error("the Personio secret and the Staffomatic password stay in the form after the tenant was created")
	}
	if report := b.text(`#cred-result`); !strings.Contains(report, "verified") || !strings.Contains(report, "hire date") {
		t.Errorf("missing-attribute report: %q", report)
	}
	if keys := evalAs[[]string](b, `[...document.querySelectorAll('#cred-missing li[data-key]')].map(li => li.dataset.key)`); !slices.Equal(keys, []string{"hire_date", "absence_entitlement"}) {
		t.Errorf("the report names the missing attributes %v, want hire_date and absence_entitlement", keys)
	}
	b.shot("credentials")
	// In German by the names of the guide's list.
	b.set(`#lang`, "de")
	if report := b.text(`#cred-result`); !strings.Contains(report, "Anstelldatum") || !strings.Contains(report, "Abwesenheitsanspruch") {
		t.Errorf("German missing-attribute report: %q", report)
	}
	b.shot("credentials-de")
	b.set(`#lang`, "en")
	if err := s.sb.Personio.SetAttributeWhitelist(demo.PersonioClientID, nil); err != nil {
		t.Fatal(err)
	}
	tenantID := strings.TrimPrefix(adminToken[:strings.Index(adminToken, ".")], "sst_")

	// Step 2: time tracking off, Staffomatic leads absences.
	b.click(`#cred-next`)
	b.do(chromedp.WaitVisible(chromedp.ID("src-form")))
	b.click(`#src-ts-off`)
	b.click(`#src-abs-staffomatic`)
	b.shot("sources")
	b.click(`#src-save`)
	var tenant struct {
		Sources  map[string]string `json:"sources"`
		Settings map[string]any    `json:"settings"`
	}
	b.waitJS(`document.querySelectorAll('#sel-body tr[data-pid]').length > 0`)
	s.apiGet(t, adminToken, "/v1/tenants/"+tenantID, &tenant)
	if tenant.Sources["timesheets"] != "off" || tenant.Sources["absences"] != "staffomatic" {
		t.Errorf("sources stored: %v", tenant.Sources)
	}

	// Step 3: every employee, the status filter, the search, the switches.
	if rows := evalAs[int](b, `document.querySelectorAll('#sel-body tr[data-pid]').length`); rows != demo.Employees {
		t.Errorf("selection lists %d employees, Personio has %d", rows, demo.Employees)
	}
	b.set(`#sel-status`, "active")
	statuses := evalAs[[]string](b, `[...document.querySelectorAll('#sel-body tr[data-pid] td[data-status]')].map(td => td.dataset.status)`)
	if len(statuses) == 0 || len(statuses) >= demo.Employees || slices.ContainsFunc(statuses, func(s string) bool { return s != "active" }) {
		t.Errorf("status filter active shows %v", statuses)
	}
	activeIDs := evalAs[[]string](b, `[...document.querySelectorAll('#sel-body tr[data-pid]')].map(tr => tr.dataset.pid)`)
	b.click(`#sel-bulk-on`)
	b.waitJS(`document.getElementById('confirm-dialog').open`)
	if q, want := b.text(`#confirm-text`), fmt.Sprintf("Switch the %d employees shown on?", len(activeIDs)); !strings.HasPrefix(q, want) {
		t.Errorf("bulk question %q, want %q", q, want)
	}
	b.confirm()
	b.waitJS(`document.getElementById('notice').textContent.length > 0`)
	var sel struct {
		Selected   []string `json:"selected"`
		Deselected []string `json:"deselected"`
	}
	s.apiGet(t, adminToken, "/v1/tenants/"+tenantID+"/selection", &sel)
	for _, id := range activeIDs {
		if !slices.Contains(sel.Selected, id) {
			t.Errorf("bulk on: %s not switched on (%v)", id, sel.Selected)
		}
	}
	b.set(`#sel-status`, "")
	b.set(`#sel-show`, "problem")
	matches := evalAs[[]string](b, `[...document.querySelectorAll('#sel-body tr[data-pid] .badge')].map(e => e.className)`)
	if len(matches) == 0 || slices.ContainsFunc(matches, func(c string) bool { return !strings.Contains(c, "m-none") && !strings.Contains(c, "m-conflict") }) {
		t.Errorf("the filter 'no match or conflict' shows %v", matches)
	}
	b.set(`#sel-show`, "")
	b.typeIn(`#sel-search`, "Bruno")
	if n := evalAs[int](b, `document.querySelectorAll('#sel-body tr[data-pid]').length`); n != 1 {
		t.Fatalf("search Bruno shows %d rows", n)
	}
	// Switched with the keyboard: Space on the focused switch.
	b.do(chromedp.Focus(chromedp.CSS(`#emp-1016`)))
	b.do(chromedp.KeyEvent(" "))
	b.waitJS(`document.getElementById('emp-1016') && !document.getElementById('emp-1016').checked && !document.getElementById('emp-1016').disabled`)
	s.apiGet(t, adminToken, "/v1/tenants/"+tenantID+"/selection", &sel)
	if !slices.Contains(sel.Deselected, "1016") || slices.Contains(sel.Selected, "1016") {
		t.Errorf("switching Bruno off stored selected %v, deselected %v", sel.Selected, sel.Deselected)
	}
	if focused := evalAs[string](b, `document.activeElement.id`); focused != "emp-1016" {
		t.Errorf("after the switch the focus is on %q, want the switch", focused)
	}
	b.set(`#sel-search`, "")
	b.click(`#rule-st-onboarding`)
	b.set(`#rule-match`, "any")
	b.click(`#rules-save`)
	b.waitJS(`document.getElementById('notice').textContent.includes('Rules saved')`)
	var rules struct {
		AutoInclude struct {
			Match    string   `json:"match"`
			Statuses []string `json:"statuses"`
		} `json:"auto_include"`
	}
	s.apiGet(t, adminToken, "/v1/tenants/"+tenantID+"/selection", &rules)
	if rules.AutoInclude.Match != "any" || !slices.Equal(rules.AutoInclude.Statuses, []string{"onboarding"}) {
		t.Errorf("rules stored: %+v", rules.AutoInclude)
	}
	b.shot("selection")

	// Step 4: the settings with the guide's explanations; saving leads to the checks.
	b.click(`#sel-next`)
	b.do(chromedp.WaitVisible(chromedp.ID("set-invite_staffomatic_users")))
	if help := b.text(`#help-enable_background_sync`); !strings.Contains(help, "scheduled syncs") {
		t.Errorf("background sync explanation: %q", help)
	}
	// Every setting the API returns is on the page with its label and explanation in both
	// languages, and the two dictionaries have the same keys, each used in the page.
	var keys []string
	for k := range tenant.Settings {
		keys = append(keys, k)
		if evalAs[int](b, `document.querySelectorAll('#set-form #set-`+k+`').length`) != 1 {
			t.Errorf("setting %s is not on the page", k)
		}
	}
	missing := evalAs[[]string](b, `Promise.all([import('./i18n.js'), fetch('app.js').then(r => r.text())]).then(([m, src]) => {
		const [en, de] = [m.dictionaries.en, m.dictionaries.de];
		const want = [...document.querySelectorAll('[data-i18n]')].map(e => e.dataset.i18n);
		for (const [, k] of src.matchAll(/\bt\('([A-Za-z_]+)'\s*[,)]/g)) want.push(k);
		for (const k of ['queued', 'running', 'succeeded', 'partially_failed', 'failed', 'skipped']) want.push('status_' + k);
		for (const k of ['users', 'workspaces', 'timesheets', 'absences', 'setup', 'all']) want.push('phase_' + k);
		for (const k of ['created', 'updated', 'deleted', 'unchanged', 'skipped', 'failed', 'reported', 'planned']) want.push('count_' + k);
		for (const k of ['active', 'onboarding', 'leave', 'inactive']) want.push('pstatus_' + k);
		for (const k of `+jsString(strings.Join(keys, ","))+`.split(',')) want.push('setting_' + k, 'help_' + k);
		return [...want.filter(k => !(k in en) || !(k in de)).map(k => 'missing ' + k),
			...Object.keys(en).filter(k => !(k in de)).map(k => 'no German ' + k),
			...Object.keys(de).filter(k => !(k in en)).map(k => 'no English ' + k)];
	})`, chromedp.EvalAwaitPromise)
	for _, m := range missing {
		t.Errorf("texts: %s", m)
	}
	b.shot("settings")
	before := tenant.Settings["only_verified_staffomatic_work_timers"]
	b.click(`#set-only_verified_staffomatic_work_timers`)
	// The guide's explanations in German; the switch not saved yet survives the language.
	b.set(`#lang`, "de")
	if help := b.text(`#help-enable_background_sync`); !strings.Contains(help, "Erst dann laufen die geplanten Syncs") {
		t.Errorf("German background sync explanation: %q", help)
	}
	b.shot("settings-de")
	b.set(`#lang`, "en")
	if on := evalAs[bool](b, `document.getElementById('set-only_verified_staffomatic_work_timers').checked`); on == before {
		t.Error("switching the language undid a setting not saved yet")
	}
	// A type-id list that is not numbers: said with the setting's name, the field marked,
	// nothing sent; put right, the settings are saved.
	const paid = "set-personio_time_off_type_ids_for_paid_vacations"
	paidBefore := evalAs[string](b, `document.getElementById('`+paid+`').value`)
	b.click(`#set-form details summary`)
	b.set(`#`+paid, "12, twelve")
	b.click(`#set-save`)
	b.waitJS(errorShown)
	if msg := b.text(`#error`); !strings.Contains(msg, "Personio time-off type ids for paid vacations: enter whole numbers") {
		t.Errorf("a wrong type-id list: %q", msg)
	}
	if invalid := evalAs[string](b, `[...document.querySelectorAll('[aria-invalid="true"]')].map(e => e.id).join()`); invalid != paid {
		t.Errorf("a wrong type-id list marks %q", invalid)
	}
	b.set(`#`+paid, paidBefore)
	b.click(`#set-save`)
	b.do(chromedp.WaitVisible(chromedp.ID("chk-run")))
	s.apiGet(t, adminToken, "/v1/tenants/"+tenantID, &tenant)
	if tenant.Settings["only_verified_staffomatic_work_timers"] == before {
		t.Errorf("settings: only_verified_staffomatic_work_timers still %v", before)
	}

	// Checks, run as the step opens: with Staffomatic leading absences (step 2), the demo's
	// Staffomatic category without a Personio type (Schulung; the Personio type without a
	// category matters only while Personio leads), and its conflict.
	b.do(chromedp.WaitVisible(chromedp.ID("chk-summary")))
	if res := b.text(`#chk-result`); !strings.Contains(res, "Schulung") || strings.Contains(res, "Fortbildung") || !strings.Contains(res, "Yannik") {
		t.Errorf("checks: %q", res)
	}
	b.shot("checks")

	// A dry run of the users: a diff, and nothing written to Staffomatic.
	b.click(`#view-checks button[data-goto="dryrun"]`)
	b.click(`#dry-buttons-users`)
	b.waitJS(`document.querySelector('#dry-run-status [data-status="succeeded"]') && document.querySelectorAll('#dry-diff li').length > 0`)
	if adds := evalAs[int](b, `document.querySelectorAll('#dry-diff li.add[data-action="create_user"]').length`); adds == 0 {
		t.Error("the dry run's diff has no create_user line")
	}
	if evalAs[bool](b, `[...document.querySelectorAll('#dry-diff li[data-action="create_user"]')].some(li => li.textContent.includes('Bruno Brandt'))`) {
		t.Error("the dry run creates Bruno, whom the admin switched off")
	}
	if n := len(acct.Users()); n != usersBefore {
		t.Fatalf("the dry run wrote: Staffomatic has %d users, had %d", n, usersBefore)
	}
	// Each line is the API's planned action: what, about whom, the field diff, why.
	b.checkDiff(s, adminToken, tenantID, "en")
	b.shot("dry-run")
	// The same diff in German: the actions and fields in words, drawn again on the switch.
	b.set(`#lang`, "de")
	b.checkDiff(s, adminToken, tenantID, "de")
	if diff := b.text(`#dry-diff`); !strings.Contains(diff, "Benutzer anlegen") || !strings.Contains(diff, "Vorname: ") {
		t.Errorf("German diff: %.300q", diff)
	}
	b.shot("dry-run-de")
	b.set(`#lang`, "en")
	b.click(`#dry-buttons-workspaces`)
	b.waitJS(`document.querySelector('#dry-run-status [data-status="succeeded"]') && document.querySelector('#dry-diff li[data-action^="create_department"]')`)
	b.shot("dry-run-workspaces")

	// Sync Now of the users, with its status followed until it ends.
	b.click(`button[data-view="sync"]`)
	// Background sync is still off: the page says data moves only with Sync Now.
	if sched := b.text(`#sync-schedule`); !strings.Contains(sched, "Background sync is off") {
		t.Errorf("Sync Now's schedule line: %q", sched)
	}
	b.click(`#sync-buttons-users`)
	b.waitJS(`document.querySelector('#sync-body tr[data-phase="users"] [data-status="succeeded"]')`)
	if n := len(acct.Users()); n <= usersBefore {
		t.Fatalf("after Sync Now Staffomatic has %d users, had %d", n, usersBefore)
	}
	if row := b.text(`#sync-body tr[data-phase="users"]`); !strings.Contains(row, "created") {
		t.Errorf("sync status row: %q", row)
	}
	// The end of the run is said in the live region, not only drawn in the table.
	b.waitJS(`document.getElementById('notice').textContent.startsWith('Employees: succeeded.')`)
	if live := evalAs[string](b, `document.getElementById('notice').getAttribute('aria-live')`); live != "polite" {
		t.Errorf("the notice is not a live region: aria-live=%q", live)
	}
	b.shot("sync-now")

	// A dry run of the absences now that the users are linked: each line names the person
	// and the absence type, and the writes add up to what the page says.
	b.click(`button[data-view="dryrun"]`)
	b.click(`#dry-buttons-absences`)
	b.waitJS(`document.querySelector('#dry-run-status [data-status="succeeded"]') && document.getElementById('dry-run-status').textContent.includes('Absences')`)
	b.waitJS(`document.querySelectorAll('#dry-diff li[data-action]').length > 0`)
	b.checkDiff(s, adminToken, tenantID, "en")
	if n := evalAs[int](b, `document.querySelectorAll('#dry-diff li[data-action="create_absence"]').length`); n == 0 {
		t.Error("the absences dry run has no create_absence line")
	}
	b.shot("dry-run-absences")
	b.click(`button[data-view="sync"]`)

	// Sync Now of every area answers which areas it left out (time tracking is off).
	b.set(`#sync-mode`, "partial")
	b.click(`#sync-buttons-all`)
	b.waitJS(`document.getElementById('notice').textContent.includes('not queued')`)
	b.waitJS(`document.querySelectorAll('#sync-body tr').length >= 4 && [...document.querySelectorAll('#sync-body [data-status]')].every(s => ['succeeded','partially_failed','failed','skipped'].includes(s.dataset.status))`)

	// Runs, then the protocol of one area and its CSV.
	b.click(`button[data-view="runs"]`)
	b.waitJS(`document.querySelectorAll('#runs-body tr[data-run]').length >= 3`)
	b.shot("runs")
	// A run's button opens the protocol of that run alone.
	syncedRun := evalAs[string](b, `document.querySelector('#sync-body tr[data-phase="users"]:last-child').dataset.run`)
	b.click(`#runs-body tr[data-run="` + syncedRun + `"] button`)
	b.waitJS(`document.getElementById('proto-run').value === ` + jsString(syncedRun) +
		` && document.querySelectorAll('#proto-body tr[data-run]').length > 0 && [...document.querySelectorAll('#proto-body tr[data-run]')].every(tr => tr.dataset.run === ` + jsString(syncedRun) + `)`)
	// A time window after every entry shows none, and says so.
	b.set(`#proto-run`, "")
	b.set(`#proto-from`, evalAs[string](b, `new Date(Date.now() + 86400000).toISOString().slice(0, 16)`))
	b.click(`#proto-apply`)
	b.waitJS(`document.querySelectorAll('#proto-body tr[data-area]').length === 0 && document.getElementById('proto-body').textContent.includes('No protocol entries')`)
	b.set(`#proto-from`, "")
	b.click(`#proto-apply`)
	b.waitJS(`document.querySelectorAll('#proto-body tr[data-area]').length > 0`)
	b.set(`#proto-area`, "setup")
	b.click(`#proto-apply`)
	b.waitJS(`document.querySelectorAll('#proto-body tr[data-area]').length > 0 && [...document.querySelectorAll('#proto-body tr[data-area]')].every(tr => tr.dataset.area === 'setup')`)
	b.set(`#proto-area`, "users")
	b.click(`#proto-apply`)
	b.waitJS(`document.querySelectorAll('#proto-body tr[data-area]').length > 0 && [...document.querySelectorAll('#proto-body tr[data-area]')].every(tr => tr.dataset.area === 'users')`)
	b.shot("protocol")
	downloads := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatal(err)
	}
	b.click(`#proto-csv`)
	b.waitJS(`document.getElementById('notice').textContent.includes('CSV')`)
	csvFile := filepath.Join(downloads, "staffsync-protocol-"+tenantID+"-users.csv")
	var csv []byte
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if csv, _ = os.ReadFile(csvFile); len(csv) > 0 {
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "time,area,run_id,kind,source_id,target_id,action,outcome,reason") {
		t.Fatalf("CSV %s: %q", csvFile, csv)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, ",users,") {
			t.Errorf("CSV of area users has %q", l)
		}
	}

	// German, then back.
	b.set(`#lang`, "de")
	if h := b.text(`#proto-h`); h != "Protokoll" {
		t.Errorf("German heading %q", h)
	}
	b.shot("protocol-de")
	b.set(`#lang`, "en")

	// Secret rotation: cancelled changes nothing; confirmed shows the new secrets once.
	b.click(`button[data-view="admin"]`)
	b.click(`#rot-submit`)
	// Tab and Shift+Tab stay inside the dialog.
	b.waitJS(`document.getElementById('confirm-dialog').open && document.activeElement.id === 'confirm-cancel'`)
	for _, want := range []string{"confirm-ok", "confirm-cancel", "confirm-ok"} {
		b.do(chromedp.KeyEvent("\t"))
		if got := evalAs[string](b, `document.activeElement.id`); got != want {
			t.Fatalf("Tab in the dialog reached %q, want %q", got, want)
		}
	}
	b.do(chromedp.KeyEvent("\t", chromedp.KeyModifiers(kb.ModifierShift)))
	if got := evalAs[string](b, `document.activeElement.id`); got != "confirm-cancel" {
		t.Fatalf("Shift+Tab in the dialog reached %q, want confirm-cancel", got)
	}
	b.answer(false)
	if evalAs[bool](b, `document.getElementById('secret-dialog').open`) {
		t.Error("a cancelled rotation showed secrets")
	}
	// The closed dialog gives the focus back to the button that opened it.
	if focused := evalAs[string](b, `document.activeElement.id`); focused != "rot-submit" {
		t.Errorf("after the dialog the focus is on %q, want rot-submit", focused)
	}
	b.click(`#rot-submit`)
	b.confirm()
	b.do(chromedp.WaitVisible(chromedp.CSS(`#secret-dialog[open]`)))
	if sec := b.text(`#secret-list code[data-secret="staffomatic_secret"]`); !strings.HasPrefix(sec, "whs_") {
		t.Errorf("rotated Staffomatic secret shown as %q", sec)
	}
	b.shot("rotation")
	b.click(`#secret-done`)
	// The dialog empties itself when it closes (the close event follows close()).
	b.waitJS(`!document.getElementById('secret-dialog').open && document.querySelectorAll('#secret-list *').length === 0`)

	// The Personio credentials file uploaded, for Personio's own address, stored without
	// verifying: the API read the client id from the file.
	credFile := filepath.Join(t.TempDir(), "personio-credentials.json")
	if err := os.WriteFile(credFile, []byte(`{"client_id":"file-client-id","client_secret":"file-client-secret"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	b.click(`button[data-view="credentials"]`)
	b.click(`#cred-mode-file`)
	b.do(chromedp.SetUploadFiles(chromedp.CSS(`#cred-file`), []string{credFile}))
	if hint := b.text(`#cred-keep`); !strings.Contains(hint, "Enter the secrets again") {
		t.Errorf("step 1 of an existing tenant does not say its secrets must be entered again: %q", hint)
	}
	b.set(`#cred-personio-url`, "")
	b.set(`#cred-password`, demo.StaffomaticPassword)
	b.click(`#cred-verify`)
	b.click(`#cred-save`)
	b.waitJS(`!document.getElementById('cred-result').hidden && document.getElementById('cred-verified').textContent.includes('without verifying')`)
	var stored struct {
		Personio struct {
			ClientID string `json:"client_id"`
			BaseURL  string `json:"base_url"`
		} `json:"personio"`
	}
	s.apiGet(t, adminToken, "/v1/tenants/"+tenantID, &stored)
	if stored.Personio.ClientID != "file-client-id" || stored.Personio.BaseURL == s.sb.PersonioURL {
		t.Errorf("after the upload the tenant's Personio is %+v, want the file's client id at Personio's own address", stored.Personio)
	}
	b.shot("credentials-file")
	// Step 3 does not keep the employees read with the old credentials: it reads them again,
	// here with the file's client id at Personio's own address, which this machine cannot
	// reach, so an error and no rows instead of the old list.
	b.click(`button[data-view="selection"]`)
	b.waitJS(errorShown + ` || document.querySelectorAll('#sel-body tr[data-pid]').length > 0`)
	if rows := evalAs[int](b, `document.querySelectorAll('#sel-body tr[data-pid]').length`); rows != 0 {
		t.Errorf("step 3 after new credentials shows %d employees read with the old ones", rows)
	}
	b.click(`button[data-view="admin"]`)

	// Hand-over to another Staffomatic admin: confirmed, the new admin token shown once and
	// used from now on; the old one no longer opens the tenant.
	if _, err := acct.AddUser(staffomaticsim.User{Email: "nina.neu@demo-gastro.example", Password: "nina-password-1",
		FirstName: "Nina", LastName: "Neu", Role: "admin", InvitationState: "accepted"}); err != nil {
		t.Fatal(err)
	}
	b.typeIn(`#ho-email`, "nina.neu@demo-gastro.example")
	b.typeIn(`#ho-password`, "nina-password-1")
	b.click(`#ho-submit`)
	if q := b.text(`#confirm-text`); !strings.Contains(q, "nina.neu@demo-gastro.example") {
		t.Errorf("hand-over question: %q", q)
	}
	b.confirm()
	b.do(chromedp.WaitVisible(chromedp.CSS(`#secret-dialog[open]`)))
	newToken := b.text(`#secret-list code[data-secret="admin_token"]`)
	b.shot("hand-over")
	b.click(`#secret-done`)
	b.waitJS(`document.getElementById('notice').textContent.includes('Handed over')`)
	if newToken == adminToken || !strings.HasPrefix(newToken, "sst_"+tenantID+".") {
		t.Fatalf("hand-over token %q", newToken)
	}
	if stored := evalAs[string](b, `sessionStorage.getItem('staffsync.token')`); stored != newToken {
		t.Errorf("after the hand-over the session holds %q", stored)
	}
	req, _ := http.NewRequest(http.MethodGet, s.base+"/v1/tenants/"+tenantID, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old admin token after the hand-over: %d, want 401", res.StatusCode)
	}
	adminToken = newToken

	// The sign-in link make run prints: signed in, the token gone from the address.
	b.click(`#signout`)
	if stored := evalAs[string](b, `sessionStorage.getItem('staffsync.token') || ''`); stored != "" {
		t.Errorf("signed out, the session still holds %q", stored)
	}
	// Nothing of the tenant stays in the page's forms for whoever signs in next.
	if left := evalAs[string](b, `['cred-client-id', 'cred-subdomain', 'cred-email', 'ho-email', 'proto-run'].map(id => document.getElementById(id).value).join('')`); left != "" {
		t.Errorf("signed out, the forms still hold %q", left)
	}
	b.do(chromedp.Navigate(s.base + "/console/#token=" + adminToken))
	b.waitJS(`document.getElementById('tenant-name').textContent !== ''`)
	if href := evalAs[string](b, `location.href`); strings.Contains(href, "token") {
		t.Errorf("the token stayed in the address: %s", href)
	}
	if name := b.text(`#tenant-name`); name != "Browser Gastro" {
		t.Errorf("signed in by link as %q", name)
	}
	b.do(chromedp.WaitVisible(chromedp.ID("view-sync")))

	// The token stops working while the page is open (handed over elsewhere): the next
	// call signs the page out and says why, instead of failing step after step.
	body := strings.NewReader(`{"staffomatic":{"email":"` + demo.StaffomaticEmail + `","password":"` + demo.StaffomaticPassword + `"}}`)
	req, _ = http.NewRequest(http.MethodPost, s.base+"/v1/tenants/"+tenantID+"/owner", body)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	if res, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("hand-over back through the API: %d", res.StatusCode)
	}
	b.click(`button[data-view="runs"]`)
	b.do(chromedp.WaitVisible(chromedp.ID("signin-token")))
	if msg := b.text(`#error`); !strings.Contains(msg, "no longer valid") {
		t.Errorf("a revoked token mid-session: %q", msg)
	}
	if stored := evalAs[string](b, `sessionStorage.getItem('staffsync.token') || ''`); stored != "" {
		t.Errorf("the revoked token stays in the session: %q", stored)
	}
	b.shot("token-revoked")
	b.noProblems()
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// syncBuffer is an io.Writer safe to read while local.Run writes its banner.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMakeRunConsoleLink: the banner of make run (staffsync dev with the sandbox) has a
// console line whose link signs the browser in as the demo tenant, with the token only
// in the fragment (never in a query string a log would keep), gone from the address once
// read. The same link to a console that is not on this computer (a deployed stack) does
// not sign in: there anyone with a tenant could sign an admin in to it with a link, and
// take the credentials the admin types in next.
func TestMakeRunConsoleLink(t *testing.T) {
	cfg, err := config.FromEnv(phases.Names())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	ready := make(chan local.Ready, 1)
	done := make(chan error, 1)
	go func() {
		done <- local.Run(ctx, local.Options{Addr: "127.0.0.1:0", Sandbox: true, Config: cfg, Out: &out, Ready: ready,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), KeyFile: filepath.Join(t.TempDir(), "key"), Phases: local.DefaultPhases()})
	}()
	t.Cleanup(func() { cancel(); <-done })
	var r local.Ready
	select {
	case r = <-ready:
	case err := <-done:
		t.Fatalf("staffsync dev stopped: %v\n%s", err, out.String())
	case <-time.After(60 * time.Second):
		t.Fatal("staffsync dev did not start")
	}
	var link string
	for _, line := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "console:"); ok {
			link = strings.Fields(rest)[0]
		}
	}
	if want := r.BaseURL + "/console/#token=" + r.Demo.AdminToken; link != want {
		t.Fatalf("banner console link %q, want %q in:\n%s", link, want, out.String())
	}
	// console.example is this computer too, but by a name: the console cannot tell it
	// from a deployed stack's.
	b := newBrowser(t, chromedp.Flag("host-resolver-rules", "MAP console.example 127.0.0.1"))
	b.window = true
	// /console leads to the page (in AWS too, where /console/{proxy+} needs a file name).
	b.do(chromedp.Navigate(r.BaseURL + "/console"))
	b.waitJS(`document.body.dataset.ready`)
	if href := evalAs[string](b, `location.href`); href != r.BaseURL+"/console/index.html" {
		t.Errorf("/console led to %s", href)
	}
	b.do(chromedp.Navigate(link))
	b.waitJS(`document.body.dataset.ready`)
	if name := b.text(`#tenant-name`); name != "Demo Gastro" {
		t.Errorf("the link signed in as %q", name)
	}
	if href := evalAs[string](b, `location.href`); href != r.BaseURL+"/console/" {
		t.Errorf("address after sign-in: %s", href)
	}
	// The demo has not synced yet: the console opens on the employee selection.
	b.do(chromedp.WaitVisible(chromedp.ID("sel-h")))
	b.waitJS(`document.querySelectorAll('#sel-body tr[data-pid]').length === 25`)
	b.shot("make-run-link")

	remote := strings.Replace(link, "127.0.0.1", "console.example", 1)
	if remote == link {
		t.Fatalf("the link %s is not on 127.0.0.1", link)
	}
	b.do(chromedp.Navigate(remote))
	b.waitJS(`document.body.dataset.ready`)
	b.do(chromedp.WaitVisible(chromedp.ID("signin-token")))
	if name := b.text(`#tenant-name`); name != "" {
		t.Errorf("a link to a console elsewhere signed in as %q", name)
	}
	if stored := evalAs[string](b, `sessionStorage.getItem('staffsync.token') || ''`); stored != "" {
		t.Errorf("a link to a console elsewhere stored its token %q", stored)
	}
	if href := evalAs[string](b, `location.href`); strings.Contains(href, "token") {
		t.Errorf("the refused token stayed in the address: %s", href)
	}
	if msg := b.text(`#error`); !strings.Contains(msg, "make run") {
		t.Errorf("refused link: message %q, want one saying only make run signs in by link", msg)
	}
	b.shot("link-refused")
	b.noProblems()
}

// TestConsoleRefusesHTMLSinks: the page's CSP requires Trusted Types and allows no policy,
// so an HTML sink fed a string (an employee's name, a vendor's message, a protocol reason)
// throws instead of rendering markup; the console writes text only, which the end-to-end
// test drives through every view without a single violation.
func TestConsoleRefusesHTMLSinks(t *testing.T) {
	srv := httptest.NewServer(console.Handler)
	t.Cleanup(srv.Close)
	b := newBrowser(t)
	b.do(chromedp.Navigate(srv.URL + "/console/"))
	b.waitJS(`document.body.dataset.ready`)
	for _, sink := range []string{
		`document.createElement('div').innerHTML = '<img src=x onerror="window.pwned=1">'`,
		`document.body.insertAdjacentHTML('beforeend', '<b>x</b>')`,
		`document.createElement('iframe').srcdoc = '<b>x</b>'`,
	} {
		refused := evalAs[bool](b, `(() => { try { `+sink+`; return false } catch (e) { return e instanceof TypeError } })()`)
		if !refused {
			t.Errorf("the page let %s through", sink)
		}
	}
	if evalAs[bool](b, `window.pwned === 1`) {
		t.Error("markup ran")
	}
}

// checkDiff compares the dry-run diff on the page with the plan the API returns for its
// run: one line per planned action, each with the action in words of the page's language
// (lang; never the bare code), whom or what it is about (person, workspace, absence type),
// the reason, each changed field by its name in words with its new value, and the action's
// write count; the summary's writes are the sum of the lines'.
func (b *browserSession) checkDiff(s system, token, tenantID, lang string) {
	b.t.Helper()
	t := b.t
	if got := evalAs[string](b, `document.documentElement.lang`); got != lang {
		t.Fatalf("page language %q, want %q", got, lang)
	}
	runID := evalAs[string](b, `document.getElementById('dry-run-status').dataset.run`)
	var plan struct {
		Plan struct {
			Actions []struct {
				Action, Person, Workspace, Reason string
				AbsenceType                       string `json:"absence_type"`
				Writes                            int
				Changes                           []struct{ Field, From, To string }
			} `json:"actions"`
			NextCursor string `json:"next_cursor"`
		} `json:"plan"`
	}
	s.apiGet(t, token, "/v1/tenants/"+tenantID+"/runs/"+runID+"?limit=100", &plan)
	if len(plan.Plan.Actions) == 0 {
		t.Fatalf("run %s planned nothing: no diff to check", runID)
	}
	var actions, fields []string
	for _, a := range plan.Plan.Actions {
		actions = append(actions, a.Action)
		for _, c := range a.Changes {
			fields = append(fields, c.Field)
		}
	}
	// The text of each code, "" where the page's language has none.
	labels := func(prefix string, codes []string) map[string]string {
		return evalAs[map[string]string](b, `import('./i18n.js').then(m => Object.fromEntries(`+jsString(strings.Join(codes, ","))+
			`.split(',').filter(Boolean).map(c => [c, (`+jsString(prefix)+` + c) in m.dictionaries[m.getLang()] ? m.label(`+jsString(prefix)+`, c) : ''])))`,
			chromedp.EvalAwaitPromise)
	}
	actionText, fieldText := labels("action_", actions), labels("field_", fields)
	type line struct {
		Text   string `json:"text"`
		Writes int    `json:"writes"`
	}
	lines := evalAs[[]line](b, `[...document.querySelectorAll('#dry-diff > li')].map(li => ({text: li.textContent, writes: +li.dataset.writes}))`)
	if len(lines) != len(plan.Plan.Actions) {
		t.Fatalf("the diff has %d lines, the plan %d actions", len(lines), len(plan.Plan.Actions))
	}
	sum := 0
	for i, a := range plan.Plan.Actions {
		if actionText[a.Action] == "" {
			t.Errorf("action %s has no text in %s", a.Action, lang)
		}
		want := []string{actionText[a.Action], a.Person, a.Workspace, a.AbsenceType, a.Reason}
		for _, c := range a.Changes {
			if fieldText[c.Field] == "" {
				t.Errorf("field %s has no text in %s", c.Field, lang)
			}
			want = append(want, fieldText[c.Field]+": ")
			if c.Field != "locked" && c.Field != "invitation" {
				want = append(want, c.To)
			}
		}
		for _, w := range want {
			if !strings.Contains(lines[i].Text, w) {
				t.Errorf("diff line %d %q lacks %q", i, lines[i].Text, w)
			}
		}
		if lines[i].Writes != a.Writes {
			t.Errorf("diff line %d shows %d writes, the plan %d", i, lines[i].Writes, a.Writes)
		}
		sum += a.Writes
	}
	if plan.Plan.NextCursor == "" {
		if got := evalAs[int](b, `+document.getElementById('dry-writes').dataset.writes`); got != sum {
			t.Errorf("the dry run's summary counts %d writes, its lines %d", got, sum)
		}
	}
}
