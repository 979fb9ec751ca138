package console_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/staffsync/staffsync/internal/console"
	"github.com/staffsync/staffsync/internal/httpapi"
)

// get asks the API handler (not the console's own) for path, as a browser would: the
// console is reached through the API's routing.
func get(t *testing.T, method, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	api := httpapi.New(httpapi.Options{})
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	return rec
}

// TestAssetsTypesAndHeaders: every asset is served through the API with its content type,
// the strict Content-Security-Policy and the other protective headers; the page is the
// index; a second load with the ETag is a 304.
func TestAssetsTypesAndHeaders(t *testing.T) {
	want := map[string]string{
		"/console/":           "text/html; charset=utf-8",
		"/console/index.html": "text/html; charset=utf-8",
		"/console/app.css":    "text/css; charset=utf-8",
		"/console/app.js":     "text/javascript; charset=utf-8",
		"/console/api.js":     "text/javascript; charset=utf-8",
		"/console/i18n.js":    "text/javascript; charset=utf-8",
		"/console/icon.svg":   "image/svg+xml",
	}
	served := console.Paths()
	slices.Sort(served)
	var wantPaths []string
	for p := range want {
		wantPaths = append(wantPaths, p)
	}
	slices.Sort(wantPaths)
	if !slices.Equal(served, wantPaths) {
		t.Fatalf("the console serves %v, the test knows %v: add the new file's type here", served, wantPaths)
	}
	for path, ct := range want {
		rec := get(t, "GET", path)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		h := rec.Header()
		if got := h.Get("Content-Type"); got != ct {
			t.Errorf("%s: Content-Type %q, want %q", path, got, ct)
		}
		csp := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'none'", "require-trusted-types-for 'script'", "trusted-types 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") || strings.Contains(csp, "*") || strings.Contains(csp, "data:") {
			t.Errorf("%s: CSP %q allows more than the console's own files", path, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, h)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("%s: empty body", path)
		}
		again := get(t, "GET", path, "If-None-Match", h.Get("ETag"))
		if again.Code != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", path, again.Code)
		}
	}
}

// TestRoutingEdges: /console redirects to /console/index.html (relatively, so a stage
// prefix survives), unknown files are 404, writes are 405, and the API's own routes still answer
// JSON.
func TestRoutingEdges(t *testing.T) {
	cases := []struct {
		method, path string
		status       int
		location     string
	}{
		{"GET", "/console", http.StatusMovedPermanently, "console/index.html"},
		{"HEAD", "/console/app.js", http.StatusOK, ""},
		{"GET", "/console/nope.js", http.StatusNotFound, ""},
		{"GET", "/console/../v1/health", http.StatusNotFound, ""},
		{"GET", "/console/assets/app.js", http.StatusNotFound, ""},
		{"POST", "/console/", http.StatusMethodNotAllowed, ""},
		{"GET", "/consolex", http.StatusNotFound, ""},
	}
	for _, c := range cases {
		rec := get(t, c.method, c.path)
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
		}
		if c.location != "" && rec.Header().Get("Location") != c.location {
			t.Errorf("%s %s: Location %q, want %q", c.method, c.path, rec.Header().Get("Location"), c.location)
		}
		if console.Owns(c.path) && rec.Header().Get("Content-Security-Policy") != console.CSP {
			t.Errorf("%s %s: no CSP on the console's answer", c.method, c.path)
		}
	}
	if rec := get(t, "GET", "/v1/health"); rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("/v1/health: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// TestPageHasNoInlineCode: the page loads its script and style from files only, so the
// CSP without 'unsafe-inline' does not break it; no element carries an event-handler
// attribute or a style attribute, and nothing is loaded from another origin.
func TestPageHasNoInlineCode(t *testing.T) {
	page := get(t, "GET", "/console/").Body.String()
	checks := map[string]*regexp.Regexp{
		"inline script":     regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`),
		"inline style":      regexp.MustCompile(`<style`),
		"style attribute":   regexp.MustCompile(`\sstyle=`),
		"event handler":     regexp.MustCompile(`\son[a-z]+=`),
		"external resource": regexp.MustCompile(`(?:src|href)="(?:https?:)?//`),
		"javascript: URL":   regexp.MustCompile(`javascript:`),
	}
	for name, re := range checks {
		if loc := re.FindStringIndex(page); loc != nil {
			t.Errorf("index.html has an %s: %q", name, page[loc[0]:min(loc[1]+40, len(page))])
		}
	}
	if !strings.Contains(page, `<script type="module" src="app.js"></script>`) {
		t.Error("index.html does not load app.js as a module")
	}
	for _, js := range []string{"app.js", "api.js", "i18n.js"} {
		body := get(t, "GET", "/console/"+js).Body.String()
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "localStorage.setItem('staffsync.token"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s uses %s", js, bad)
			}
		}
	}
}

// TestScriptsCallOnlyDocumentedRoutes: the console's routes table (api.js) names each call
// by method and path; every one is an operation of openapi.yaml, no script writes an API
// path outside that table, and fetch is called in api.js only.
func TestScriptsCallOnlyDocumentedRoutes(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops[method+" "+path] = true
		}
	}
	scripts := map[string]string{}
	err = fs.WalkDir(os.DirFS("assets"), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".js") {
			b, rerr := os.ReadFile(filepath.Join("assets", p))
			scripts[p] = string(b)
			return rerr
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	entry := regexp.MustCompile(`(\w+): \['(GET|POST|PUT|DELETE|PATCH)', '(/v1/[^']*)'\]`)
	calls := entry.FindAllStringSubmatch(scripts["api.js"], -1)
	if len(calls) < 10 {
		t.Fatalf("found %d routes in api.js: has the table's format changed?", len(calls))
	}
	for _, c := range calls {
		if !ops[c[2]+" "+c[3]] {
			t.Errorf("api.js route %s is %s %s, which openapi.yaml does not have", c[1], c[2], c[3])
		}
	}
	anyPath := regexp.MustCompile(`['"\x60](/v1/[^'"\x60]*)`)
	for name, src := range scripts {
		for _, m := range anyPath.FindAllStringSubmatchIndex(src, -1) {
			line := src[strings.LastIndex(src[:m[0]], "\n")+1:]
			line = line[:strings.Index(line+"\n", "\n")]
			if name != "api.js" || !entry.MatchString(line) {
				t.Errorf("%s writes the API path %s outside api.js's routes table: %s", name, src[m[2]:m[3]], strings.TrimSpace(line))
			}
		}
		if name != "api.js" && strings.Contains(src, "fetch(") {
			t.Errorf("%s calls fetch itself; call the API through api.js", name)
		}
	}
	// Every route the app calls by name is in the table.
	named := regexp.MustCompile(`(?:api|call)\((?:state\.token, |token, )?'(\w+)'`)
	table := map[string]bool{}
	for _, c := range calls {
		table[c[1]] = true
	}
	for name, src := range scripts {
		for _, m := range named.FindAllStringSubmatch(src, -1) {
			if !table[m[1]] {
				t.Errorf("%s calls route %q, which api.js's table lacks", name, m[1])
			}
		}
	}
}

// TestActionsHaveTexts: every action a sync phase plans or the API audits (the codes the
// dry run and the protocol show) has a text in both languages of i18n.js, so a new action
// is not shown to a German admin as a bare code like create_department.
func TestActionsHaveTexts(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("assets", "i18n.js"))
	if err != nil {
		t.Fatal(err)
	}
	split := strings.Index(string(src), "const de = {")
	if split < 0 {
		t.Fatal("i18n.js has no German dictionary (const de = {)")
	}
	en, de := string(src[:split]), string(src[split:])
	patterns := map[string]*regexp.Regexp{
		"usersync": nil, "workspacesync": nil, "timesync": nil, "absencesync": nil,
		"httpapi": regexp.MustCompile(`a\.audit\([^,]+, [^,]+, "([a-z_]+)"`),
	}
	kind := regexp.MustCompile(`ActionKind = "([a-z_]+)"|Action: +"([a-z_]+)"`)
	found := 0
	for pkg, re := range patterns {
		if re == nil {
			re = kind
		}
		files, err := filepath.Glob(filepath.Join("..", pkg, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				code := m[1]
				if code == "" && len(m) > 2 {
					code = m[2]
				}
				found++
				for lang, dict := range map[string]string{"English": en, "German": de} {
					if !regexp.MustCompile(`\baction_` + code + `: '`).MatchString(dict) {
						t.Errorf("%s (%s) has no %s text: add action_%s to i18n.js", code, filepath.Base(f), lang, code)
					}
				}
			}
		}
	}
	if found < 30 {
		t.Fatalf("found %d action codes in the sync packages and the API: has their form changed?", found)
	}
}
