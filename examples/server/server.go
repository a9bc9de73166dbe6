package main

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/passkeyready/passkeys"
)

// limits are the settings that bound how long a client may hold a
// connection and how much memory a request may take. Every one is a flag.
type limits struct {
	readHeaderTimeout time.Duration // first byte of a request to the end of its headers
	readTimeout       time.Duration // first byte of a request to the end of its body
	writeTimeout      time.Duration // end of the headers to the end of the response
	idleTimeout       time.Duration // keep-alive connection waiting for its next request
	maxHeaderBytes    int           // request line and headers
	maxBodyBytes      int64         // request body, passkeys.Options.MaxBodyBytes
}

// defaultLimits suit the API's small JSON bodies (a WebAuthn response is a
// few KiB) and a handler that may wait for the Corbado API (10 s a call).
var defaultLimits = limits{
	readHeaderTimeout: 5 * time.Second,
	readTimeout:       10 * time.Second,
	writeTimeout:      30 * time.Second,
	idleTimeout:       60 * time.Second,
	maxHeaderBytes:    64 << 10,
	maxBodyBytes:      64 << 10,
}

// newServer returns the example's http.Server: every timeout set, headers
// capped at l.maxHeaderBytes. Go's defaults leave reads, writes and idle
// keep-alive connections unbounded.
func newServer(h http.Handler, l limits, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeaderTimeout,
		ReadTimeout:       l.readTimeout,
		WriteTimeout:      l.writeTimeout,
		IdleTimeout:       l.idleTimeout,
		MaxHeaderBytes:    l.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// routes mounts the passkey handler under /auth/, the application's own
// GET /api/me behind the session guard, and the demo page at /. Every
// response carries X-Content-Type-Options: nosniff.
func routes(auth *passkeys.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", auth))
	mux.Handle("GET /api/me", auth.RequireSession(http.HandlerFunc(me)))
	mux.Handle("/api/me", methodNotAllowed("GET", "HEAD"))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, passkeys.ErrNotFound.Withf("No endpoint at %s.", r.URL.Path))
	})
	mux.Handle("/", webHandler())
	return noSniff(mux)
}

// noSniff tells browsers to believe every response's Content-Type.
func noSniff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// methodNotAllowed answers 405 problem+json with an Allow header.
func methodNotAllowed(allow ...string) http.Handler {
	list := strings.Join(allow, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", list)
		writeProblem(w, passkeys.ErrMethodNotAllowed.Withf("Use %s.", allow[0]))
	})
}

// writeProblem writes e as the passkey handler writes its errors: RFC 9457
// application/problem+json that no cache keeps.
func writeProblem(w http.ResponseWriter, e *passkeys.Error) {
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Type   string `json:"type"`
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
		Code   string `json:"code"`
	}{"urn:passkeys:error:" + e.Code, e.Title, e.Status, e.Detail, e.Code})
}
