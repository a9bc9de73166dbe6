package main

import (
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
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
	maxConns          int           // connections open at once, see connLimit
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
	maxConns:          1024,
}

// newServer returns the example's http.Server: every timeout set, headers
// capped at l.maxHeaderBytes. Go's defaults leave reads, writes and idle
// keep-alive connections unbounded. A non-nil cl learns which of its
// connections are idle.
func newServer(h http.Handler, l limits, logger *slog.Logger, cl *connLimit) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.readHeaderTimeout,
		ReadTimeout:       l.readTimeout,
		WriteTimeout:      l.writeTimeout,
		IdleTimeout:       l.idleTimeout,
		MaxHeaderBytes:    l.maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if cl != nil {
		srv.ConnState = cl.track
	}
	return srv
}

// connLimit is a listener with at most max connections open at once, so
// that memory and descriptors stay bounded however many clients connect.
// A connection that arrives at the cap closes the one idle longest (a
// keep-alive connection between requests, which its client reopens when it
// needs one); when none is idle, it waits, unread, for one to close or
// turn idle, and later ones wait in the kernel's queue. The server's
// timeouts bound that wait.
type connLimit struct {
	net.Listener
	max  int
	wake chan struct{} // a token when a connection closes or turns idle
	done chan struct{} // closed by Close

	mu   sync.Mutex
	open int
	idle map[net.Conn]time.Time // since when each idle connection waits
	stop sync.Once
}

func newConnLimit(ln net.Listener, max int) *connLimit {
	return &connLimit{Listener: ln, max: max, wake: make(chan struct{}, 1), done: make(chan struct{}), idle: map[net.Conn]time.Time{}}
}

// Accept accepts a connection and admits it when a slot is free, closing
// the longest-idle connection if that makes one.
func (l *connLimit) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		l.mu.Lock()
		if l.open < l.max {
			l.open++
			l.mu.Unlock()
			return &limitedConn{Conn: c, l: l}, nil
		}
		var oldest net.Conn
		var since time.Time
		for ic, t := range l.idle {
			if oldest == nil || t.Before(since) {
				oldest, since = ic, t
			}
		}
		l.mu.Unlock()
		if oldest != nil {
			oldest.Close() // frees its slot at once
			continue
		}
		select {
		case <-l.wake:
		case <-l.done:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

// Close closes the listener and ends a wait in Accept.
func (l *connLimit) Close() error {
	l.stop.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// track is the server's ConnState hook.
func (l *connLimit) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc, ok := c.(*limitedConn); ok && lc.closed {
		return // closed by Accept while its request ended
	}
	if s == http.StateIdle {
		l.idle[c] = time.Now()
		l.signal()
	} else {
		delete(l.idle, c)
	}
}

// signal wakes a waiting Accept.
func (l *connLimit) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *connLimit) release() {
	l.mu.Lock()
	l.open--
	l.mu.Unlock()
	l.signal()
}

// limitedConn gives its slot back when it is first closed.
type limitedConn struct {
	net.Conn
	l      *connLimit
	once   sync.Once
	closed bool // guarded by l.mu
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		c.closed = true
		delete(c.l.idle, c)
		c.l.mu.Unlock()
		c.l.release()
	})
	return err
}

// routes mounts the passkey handler under /auth/, the application's own
// GET /api/me behind the session guard, the well-known documents of the
// native apps and related origins at /.well-known/, and the demo page at
// /. Every response carries X-Content-Type-Options: nosniff.
func routes(auth *passkeys.Handler, wellKnown http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/auth/", http.StripPrefix("/auth", auth))
	mux.Handle("/.well-known/", wellKnown)
	mux.Handle("GET /api/me", auth.CORS(auth.RequireSession(http.HandlerFunc(me))))
	mux.Handle("/api/me", auth.CORS(methodNotAllowed("GET", "HEAD"))) // CORS answers its preflight
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
