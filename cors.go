package passkeys

import (
	"fmt"
	"net/http"
	"time"

	"github.com/passkeyready/passkeys/internal/weborigin"
	"github.com/rs/cors"
)

// CORSOptions lets pages of other origins call the handler (see
// [Options.CORS]): a front end on its own origin, such as a single-page
// app or a Flutter web build served from another host name.
type CORSOptions struct {
	// Origins lists the origins allowed to call the handler from a
	// browser, each exactly as a browser writes it in the Origin header
	// ("https://app.example.com"): lower-case, no default port, no path,
	// no wildcard. Empty (the default) switches CORS off: no CORS headers
	// are sent and preflights get 405, as for any OPTIONS request.
	Origins []string
	// MaxAge is how long a browser may cache a preflight answer. Default
	// 10 minutes; browsers cap it (Chromium at 2 hours).
	MaxAge time.Duration
}

// ErrCORSOriginNotAllowed answers a CORS preflight from an origin that is
// not in [CORSOptions.Origins]. The browser then does not send the
// request it asked about.
var ErrCORSOriginNotAllowed = &Error{Status: http.StatusForbidden, Code: "cors_origin_not_allowed", Title: "Origin not allowed",
	Detail: "Pages of this origin may not call this API."}

// defaultCORSMaxAge is the default of CORSOptions.MaxAge.
const defaultCORSMaxAge = 10 * time.Minute

// corsPolicy answers CORS for the configured origins.
//
// It relies on github.com/rs/cors v1.11.1 for the protocol, configured
// with an exact origin match (AllowOriginFunc, so none of its wildcard or
// case folding applies): for an allowed origin, a preflight whose method
// and request headers are allowed gets 204 with Access-Control-Allow-Origin
// set to that origin (never "*", which it would send only if "*" were
// listed), the method, the requested headers, Max-Age and, in cookie
// mode, Access-Control-Allow-Credentials: true; every answer, allowed or
// not, gets Vary: Origin (and a preflight's Vary the
// Access-Control-Request-* headers too). A preflight from an origin that
// is not listed would get a bare 204 from rs/cors; it is answered here
// instead, with ErrCORSOriginNotAllowed, before rs/cors sees it. Actual
// requests from unlisted origins run as usual but get no CORS headers, so
// the browser keeps the answer from the page.
type corsPolicy struct {
	origins map[string]bool
	cors    *cors.Cors
	errors  *errorWriter
}

// corsMethods are the methods of the handler's routes.
var corsMethods = []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete}

func newCORSPolicy(c CORSOptions, credentials bool, ew *errorWriter) (*corsPolicy, error) {
	if len(c.Origins) == 0 {
		if c.MaxAge != 0 {
			return nil, fmt.Errorf("passkeys: Options.CORS.MaxAge is set but Options.CORS.Origins is empty")
		}
		return nil, nil
	}
	p := &corsPolicy{origins: map[string]bool{}, errors: ew}
	for _, o := range c.Origins {
		if err := weborigin.CheckWeb(o); err != nil {
			return nil, fmt.Errorf("passkeys: Options.CORS.Origins entry %q %s", o, err)
		}
		p.origins[o] = true
	}
	switch {
	case c.MaxAge == 0:
		c.MaxAge = defaultCORSMaxAge
	case c.MaxAge < time.Second:
		return nil, fmt.Errorf("passkeys: Options.CORS.MaxAge must be at least a second")
	}
	p.cors = cors.New(cors.Options{
		AllowOriginFunc:  func(origin string) bool { return p.origins[origin] },
		AllowedMethods:   corsMethods,
		AllowedHeaders:   []string{"Content-Type", "Authorization"},
		ExposedHeaders:   []string{"Retry-After"},
		AllowCredentials: credentials,
		MaxAge:           int(c.MaxAge / time.Second),
	})
	return p, nil
}

// wrap applies the policy to next.
func (p *corsPolicy) wrap(next http.Handler) http.Handler {
	inner := p.cors.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" && !p.origins[r.Header.Get("Origin")] {
			w.Header().Add("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
			p.errors.write(w, r, ErrCORSOriginNotAllowed.With("", fmt.Errorf("preflight from origin %q", r.Header.Get("Origin"))))
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// CORS wraps one of the application's own handlers (the routes its front
// end calls beside the passkey API, such as its /api/me) with the
// handler's CORS policy, [Options.CORS]. Without CORS origins it returns
// next as it is.
func (h *Handler) CORS(next http.Handler) http.Handler {
	if h.cors == nil {
		return next
	}
	return h.cors.wrap(next)
}
