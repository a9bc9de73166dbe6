// Package passkeys makes an existing Go backend passkey-ready. Mount the
// [Handler] returned by [New] under a path of your choice and it serves:
//
//	POST   signUpOrLogin            {"email"}            send a one-time code
//	POST   signUpOrLogin            {"email","otp"}      check it; sign up or log in
//	POST   passkey/append/start     {}          (session) creation options
//	POST   passkey/append/finish    {"attestationResponse"} (session) store the passkey
//	POST   passkey/login/start      {"email"}            request options for that account
//	POST   passkey/login/finish     {"assertionResponse"}  log in
//	POST   passkey/mediation/start  {}                   conditional-UI (autofill) options
//	POST   passkey/mediation/finish {"assertionResponse"}  log in
//	GET    passkeys                          (session) list the user's passkeys
//	DELETE passkeys/{id}                     (session) delete one of them
//
// The flow for a new user is: email and one-time code (sign-up), then
// "add a passkey" (append), and from then on passkey login, either by
// button (login start with the email) or from the browser's autofill
// (mediation). Every successful login returns a sessionToken, sent back as
// "Authorization: Bearer <token>" to the routes marked (session) and to
// the application's own routes wrapped by [Handler.RequireSession].
//
// Options and responses are the JSON forms the browser's WebAuthn API
// takes and gives: PublicKeyCredential.parseCreationOptionsFromJSON /
// parseRequestOptionsFromJSON and credential.toJSON(). Clients send nothing
// but the browser's response: the server finds each ceremony by the
// challenge inside clientDataJSON. Ceremony state, one-time codes (as keyed
// hashes only), users and credentials stay on the server, in the
// [Backend]: the self-hosted engine (package selfhosted, with SQLite,
// PostgreSQL or in-memory storage) or Corbado's Backend API.
//
// Errors are RFC 9457 application/problem+json documents with a stable
// machine-readable "code"; see [Error].
//
// Sessions are demo HS256 JWTs by default ([JWTSessions]). A real
// application plugs in its own session system through [SessionIssuer] and
// [SessionVerifier].
package passkeys

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
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

// errorWriter writes errors as problem+json and logs their causes.
type errorWriter struct {
	logger *slog.Logger
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Code   string `json:"code"`
}

func (ew *errorWriter) write(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	logger := ew.logger
	if logger == nil {
		logger = slog.Default()
	}
	level := slog.LevelInfo
	if e.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", e.Status, "code", e.Code}
	if e.Err != nil {
		attrs = append(attrs, "cause", e.Err.Error())
	}
	logger.Log(r.Context(), level, "passkeys: request failed", attrs...)

	hdr := w.Header()
	hdr.Set("Content-Type", "application/problem+json")
	hdr.Set("Cache-Control", "no-store")
	if e.RetryAfter > 0 {
		hdr.Set("Retry-After", fmt.Sprint(int64(math.Ceil(e.RetryAfter.Seconds()))))
	}
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(problem{
		Type: "urn:passkeys:error:" + e.Code, Title: e.Title, Status: e.Status, Detail: e.Detail, Code: e.Code,
	})
}

// writeJSON writes a 200 JSON response that no cache may keep.
func writeJSON(w http.ResponseWriter, status int, v any) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
