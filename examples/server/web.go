package main

import (
	"embed"
	"io/fs"
	"net/http"
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

// webHandler serves the demo page at / with a strict Content-Security-Policy,
// in a browsing context group of its own (Cross-Origin-Opener-Policy), to
// GET and HEAD only; other methods get 405 with an Allow header.
func webHandler() http.Handler {
	root, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree always has web/
	}
	files := http.FileServerFS(root)
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
		files.ServeHTTP(w, r)
	})
}
