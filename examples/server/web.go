package main

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"time"

	"github.com/passkeyready/passkeys"
)

// webFiles holds the demo page: plain HTML, CSS and JavaScript, no build step.
//
//go:embed web
var webFiles embed.FS

// contentSecurityPolicy lets the page load only its own files: no inline
// script or style, no third-party origin, no framing. Images may also be
// data: URIs, for the passkey providers' icons (shown with <img>, where an
// SVG runs no script).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// clientImport is how app.js imports the browser client module of the
// passkeys handler, mounted at /auth/.
const clientImport = `from '/auth/client.js';`

// appScript returns app.js with the client module's version in its
// import (client.js?v=<passkeys.ClientVersion()>), which the handler
// serves with immutable caching, and the strong ETag of the result.
func appScript() (body []byte, etag string) {
	src, err := webFiles.ReadFile("web/app.js")
	if err != nil || bytes.Count(src, []byte(clientImport)) != 1 {
		panic("web/app.js must import " + clientImport + " once") // the embedded file does
	}
	body = bytes.Replace(src, []byte(clientImport), []byte(`from '/auth/client.js?v=`+passkeys.ClientVersion()+`';`), 1)
	sum := sha256.Sum256(body)
	return body, `"` + hex.EncodeToString(sum[:16]) + `"`
}

// webHandler serves the demo page at / with a strict Content-Security-Policy,
// in a browsing context group of its own (Cross-Origin-Opener-Policy), to
// GET and HEAD only; other methods get 405 with an Allow header. Every
// answer must be revalidated (no-cache); app.js carries a strong ETag.
func webHandler() http.Handler {
	root, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	files := http.FileServerFS(root)
	app, appETag := appScript()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		if r.URL.Path == "/app.js" {
			h.Set("ETag", appETag)
			h.Set("Content-Type", "text/javascript; charset=utf-8")
			http.ServeContent(w, r, "app.js", time.Time{}, bytes.NewReader(app))
			return
		}
		files.ServeHTTP(w, r)
	})
}
