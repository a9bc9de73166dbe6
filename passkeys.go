package passkeys

import (
	"fmt"
	"net/http"
	"strings"
)

// Handler serves the passkey and OTP endpoints. It is an http.Handler that
// routes relative to where it is mounted: strip the mount prefix with
// http.StripPrefix. Create it with [New]; it is safe for concurrent use.
type Handler struct {
	opts   Options
	errors *errorWriter
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
	h := &Handler{opts: o, errors: &errorWriter{logger: o.Logger}}
	h.routes = map[string]map[string]http.Handler{
		"/signUpOrLogin":            {http.MethodPost: h.api(h.signUpOrLogin)},
		"/passkey/append/start":     {http.MethodPost: h.session(h.appendStart)},
		"/passkey/append/finish":    {http.MethodPost: h.session(h.appendFinish)},
		"/passkey/login/start":      {http.MethodPost: h.api(h.loginStart)},
		"/passkey/login/finish":     {http.MethodPost: h.api(h.loginFinish)},
		"/passkey/mediation/start":  {http.MethodPost: h.api(h.mediationStart)},
		"/passkey/mediation/finish": {http.MethodPost: h.api(h.mediationFinish)},
		"/passkeys":                 {http.MethodGet: h.session(h.listPasskeys)},
		"/passkeys/{id}":            {http.MethodDelete: h.session(h.deletePasskey)},
	}
	return h, nil
}

// ServeHTTP routes the request. Unknown paths get 404 and known paths with
// another method 405, both as problem+json.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
		if id, found := strings.CutPrefix(path, "/passkeys/"); found && id != "" && !strings.Contains(id, "/") {
			methods = h.routes["/passkeys/{id}"]
			r.SetPathValue("id", id)
		} else {
			h.errors.write(w, r, ErrNotFound.Withf("No endpoint at %s.", path))
			return
		}
	}
	next, ok := methods[r.Method]
	if !ok {
		allow := make([]string, 0, len(methods))
		for m := range methods {
			allow = append(allow, m)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		h.errors.write(w, r, ErrMethodNotAllowed.Withf("Use %s.", strings.Join(allow, " or ")))
		return
	}
	next.ServeHTTP(w, r)
}

// RequireSession wraps one of the application's own handlers so that it runs
// only with a valid session, using the handler's [SessionVerifier]. The user
// is available through [UserFromContext]. Requests without a valid
// "Authorization: Bearer" token get 401 application/problem+json.
func (h *Handler) RequireSession(next http.Handler) http.Handler {
	return h.errors.guard(h.opts.SessionVerifier, next)
}
