package passkeys

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
)

// Handler serves the passkey and OTP endpoints. It is an http.Handler that
// routes relative to where it is mounted: strip the mount prefix with
// http.StripPrefix. Create it with [New]; it is safe for concurrent use.
type Handler struct {
	opts   Options
	errors *errorWriter
	cookie *cookieJar  // nil without cookie sessions
	cors   *corsPolicy // nil without CORS
	serve  http.Handler
	events *dispatcher                        // nil without Options.Events
	routes map[string]map[string]http.Handler // path -> method -> handler
}

var _ http.Handler = (*Handler)(nil)

// New validates opts, fills in defaults and returns the handler. Errors
// name the offending Options field.
func New(opts Options) (*Handler, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	h := &Handler{opts: o, errors: &errorWriter{logger: o.Logger, clock: o.Clock}}
	h.events = newDispatcher(o.Events, o.EventQueue, o.Logger)
	if h.cors, err = newCORSPolicy(o.CORS, o.Cookie != nil, h.errors); err != nil {
		return nil, err
	}
	if o.Cookie != nil {
		if h.cookie, err = newCookieJar(*o.Cookie, o.CORS.Origins, o.SessionIssuer); err != nil {
			return nil, err
		}
	}
	h.serve = http.HandlerFunc(h.route)
	if h.cors != nil {
		h.serve = h.cors.wrap(h.serve)
	}
	h.routes = map[string]map[string]http.Handler{
		"/signUpOrLogin":            {http.MethodPost: h.api(h.signUpOrLogin)},
		"/passkey/append/start":     {http.MethodPost: h.session(h.appendStart)},
		"/passkey/append/finish":    {http.MethodPost: h.session(h.appendFinish)},
		"/passkey/login/start":      {http.MethodPost: h.api(h.loginStart)},
		"/passkey/login/finish":     {http.MethodPost: h.api(h.loginFinish)},
		"/passkey/mediation/start":  {http.MethodPost: h.api(h.mediationStart)},
		"/passkey/mediation/finish": {http.MethodPost: h.api(h.mediationFinish)},
		"/passkeys":                 {http.MethodGet: h.session(h.listPasskeys)},
		"/passkeys/{id}":            {http.MethodDelete: h.session(h.deletePasskey), http.MethodPatch: h.session(h.renamePasskey)},
		"/logout":                   {http.MethodPost: h.session(h.logout)},
		"/sessions":                 {http.MethodGet: h.session(h.listSessions)},
		"/sessions/{id}":            {http.MethodDelete: h.session(h.deleteSession)},
		"/account":                  {http.MethodGet: h.session(h.getAccount), http.MethodDelete: h.session(h.deleteAccount)},
		"/account/email":            {http.MethodPost: h.session(h.changeEmail)},
		"/account/activity":         {http.MethodGet: h.session(h.listActivity)},
		"/openapi.json":             {http.MethodGet: http.HandlerFunc(h.serveOpenAPI)},
		"/client.js":                {http.MethodGet: http.HandlerFunc(h.serveClientJS)},
		"/client.d.ts":              {http.MethodGet: http.HandlerFunc(h.serveClientDTS)},
	}
	return h, nil
}

// ServeHTTP routes the request. Unknown paths get 404 and known paths with
// another method 405, both as problem+json. Every response carries
// X-Content-Type-Options: nosniff. With [Options.CORS], CORS preflights
// are answered first; with [Options.Cookie], an unsafe request without a
// Bearer token in its Authorization header must pass the cross-origin check
// ([ErrCrossOriginRequest]) before it reaches an endpoint.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w, r, done := h.track(w, r)
	defer done()
	h.serve.ServeHTTP(w, r)
}

func (h *Handler) route(w http.ResponseWriter, r *http.Request) {
	h.errors.flush(r.Context())
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.errors.write(w, r, ErrInternal.With("", fmt.Errorf("panic: %v", v)))
		}
	}()
	path := "/" + strings.TrimPrefix(r.URL.Path, "/")
	methods, ok := h.routes[path]
	if !ok {
		if route, id, found := idRoute(path); found && h.routes[route] != nil {
			methods = h.routes[route]
			r.SetPathValue("id", id)
		} else {
			h.errors.write(w, r, h.noEndpoint(path))
			return
		}
	}
	next, ok := methods[r.Method]
	if !ok && r.Method == http.MethodHead {
		// Every GET route answers HEAD too (RFC 9110 §9.3.2), as
		// net/http's ServeMux does; the server sends no body for it.
		next, ok = methods[http.MethodGet]
	}
	if !ok {
		allow := make([]string, 0, len(methods)+1)
		for m := range methods {
			allow = append(allow, m)
			if m == http.MethodGet {
				allow = append(allow, http.MethodHead)
			}
		}
		slices.Sort(allow) // a stable header, whatever the map's order
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.errors.write(w, r, ErrMethodNotAllowed.Withf("Use %s.", strings.Join(allow, " or ")))
		return
	}
	if h.cookie != nil && !bearerRequest(r) {
		if err := h.cookie.checkOrigin(r); err != nil {
			h.errors.write(w, r, err)
			return
		}
	}
	next.ServeHTTP(w, r)
}

// idRoute splits "/passkeys/<id>" or "/sessions/<id>" into its route
// pattern and id.
func idRoute(path string) (route, id string, ok bool) {
	for _, prefix := range []string{"/passkeys/", "/sessions/"} {
		if id, found := strings.CutPrefix(path, prefix); found && id != "" && !strings.Contains(id, "/") {
			return prefix + "{id}", id, true
		}
	}
	return "", "", false
}

// noEndpoint is the 404 for path. A path that ends in one of the routes
// behind a prefix, such as /auth/signUpOrLogin, most likely reached a
// handler mounted under /auth without the prefix stripped; the detail
// says how to mount it.
func (h *Handler) noEndpoint(path string) *Error {
	for route := range h.routes {
		rest, isID := strings.CutSuffix(route, "/{id}")
		if isID {
			// "/passkeys/{id}": the prefix is what comes before "/passkeys/<id>".
			i := strings.LastIndex(path, rest+"/")
			if i <= 0 || strings.Contains(path[i+len(rest)+1:], "/") || i+len(rest)+1 == len(path) {
				continue
			}
			return mountHint(path, path[:i])
		}
		if prefix, ok := strings.CutSuffix(path, route); ok && prefix != "" && !strings.HasSuffix(prefix, "/") {
			return mountHint(path, prefix)
		}
	}
	return ErrNotFound.Withf("No endpoint at %s.", path)
}

func mountHint(path, prefix string) *Error {
	return ErrNotFound.Withf("No endpoint at %s. The handler routes relative to where it is mounted: "+
		"mount it with http.StripPrefix(%q, handler).", path, prefix)
}

// RequireSession wraps one of the application's own handlers so that it runs
// only with a valid session, using the handler's [SessionVerifier]. The user
// is available through [UserFromContext]. Requests without a valid
// "Authorization: Bearer" token (or, with [Options.Cookie], session
// cookie) get 401 application/problem+json; an unsafe request that relies
// on the cookie must pass the cross-origin check ([ErrCrossOriginRequest]).
func (h *Handler) RequireSession(next http.Handler) http.Handler {
	return h.errors.guard(h.opts.SessionVerifier, h.cookie, next, slog.LevelDebug)
}
