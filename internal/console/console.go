// Package console is the admin console: one static page (HTML, CSS and JavaScript modules,
// no framework and no build step) embedded in the API function and served under /console/.
// The page calls only the public API under /v1 with the admin token the admin signs in
// with, so everything it can do is what the OpenAPI document promises and a curl user can
// do too; it holds no logic the API does not check again.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// Prefix is where the console lives; /console itself redirects here.
const Prefix = "/console/"

// CSP is the Content-Security-Policy of every console response: the page's own files
// only, no inline script or style (so an injected string cannot run), no framing
// (clickjacking of the Sync Now and hand-over buttons), no plug-ins, no <base> rewriting,
// and no form submission anywhere: forms are handled by the script, so a form sent
// without it cannot put the token into a URL that logs keep. Trusted Types are required
// and no policy may make them: the script writes text only (textContent), so the browser
// refuses every HTML sink (innerHTML, insertAdjacentHTML, document.write …) outright, and a
// later change that rendered a vendor's text or an employee's name as HTML fails at once.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; " +
	"require-trusted-types-for 'script'; trusted-types 'none'"

// contentTypes are the types of the files the console ships. A fixed table rather than
// mime.TypeByExtension, which reads the host's mime.types and may differ between a
// laptop and the Lambda runtime; a file of another extension is not served.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
	".png":  "image/png",
}

// file is one embedded asset with its validator.
type file struct {
	body        []byte
	contentType string
	etag        string
}

// files maps a path below Prefix ("" for the page) to its asset.
var files = mustLoad()

func mustLoad() map[string]file {
	out := map[string]file{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return nil
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "assets/")
		out[name] = file{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("console: embedded assets: " + err.Error())
	}
	out[""] = out["index.html"]
	return out
}

// Owns reports whether path is the console's: /console and everything below /console/.
// The API sends these here before its own routing, which answers JSON and refuses a
// trailing slash.
func Owns(p string) bool { return p == "/console" || strings.HasPrefix(p, Prefix) }

// Paths lists the URL paths of the console's assets (the page is Prefix itself).
func Paths() []string {
	var out []string
	for name := range files {
		out = append(out, Prefix+name)
	}
	return out
}

// Handler serves the console.
var Handler http.Handler = http.HandlerFunc(serve)

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the console is read with GET", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == "/console" {
		// To the page by its file name, which API Gateway routes (template.yaml names each
		// file). Relative, so that a stage prefix in front of /console is kept
		// (http.Redirect would make it absolute).
		h.Set("Location", "console/index.html")
		w.WriteHeader(http.StatusMovedPermanently)
		return
	}
	f, ok := files[strings.TrimPrefix(r.URL.Path, Prefix)]
	if !ok {
		http.Error(w, "not found: the console has no "+r.URL.Path, http.StatusNotFound)
		return
	}
	h.Set("Content-Type", f.contentType)
	// Revalidated on every load, so a deployed change is seen at once; the ETag makes
	// that a 304 without a body.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}
