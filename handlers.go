package passkeys

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/passkeyready/passkeys/internal/hints"
	"github.com/passkeyready/passkeys/internal/loginmemo"
	"github.com/passkeyready/passkeys/internal/mailaddr"
)

// api adapts an endpoint that returns a response value or an error.
func (h *Handler) api(fn func(*http.Request, http.ResponseWriter) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := fn(r, w)
		switch {
		case err != nil:
			h.failed(r, err)
			h.errors.write(w, r, err)
		case v == nil:
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, v)
		}
	})
}

// session is api behind the session guard, with the statuses of a route
// that needs a session (see onSessionRoute).
func (h *Handler) session(fn func(*http.Request, http.ResponseWriter) (any, error)) http.Handler {
	return h.errors.guard(h.opts.SessionVerifier, h.cookie, h.api(func(r *http.Request, w http.ResponseWriter) (any, error) {
		h.authenticated(r)
		v, err := fn(r, w)
		return v, onSessionRoute(err)
	}), slog.LevelInfo)
}

type signUpOrLoginRequest struct {
	Email string  `json:"email"`
	OTP   *string `json:"otp"`
}

// decodeEmailCode reads the body of signUpOrLogin and changeEmail,
// {"email"} or {"email","otp"}: the email normalised (and named for the
// request's log line), the code, when there is one, six digits.
func (h *Handler) decodeEmailCode(w http.ResponseWriter, r *http.Request) (req signUpOrLoginRequest, email string, err error) {
	if err := h.decodeJSON(w, r, &req); err != nil {
		return req, "", err
	}
	if email, err = normalizeEmail(req.Email); err != nil {
		return req, "", err
	}
	h.about(r, email)
	if req.OTP != nil && !isOTP(*req.OTP) {
		return req, "", ErrInvalidRequest.With("otp must be the 6 digits from the email.", nil)
	}
	return req, email, nil
}

type otpSentResponse struct {
	OTPSent          bool  `json:"otpSent"`
	ExpiresInSeconds int64 `json:"expiresInSeconds"`
}

type sessionResponse struct {
	// SessionToken is left out in cookie mode unless
	// CookieOptions.TokenInBody.
	SessionToken string `json:"sessionToken,omitempty"`
	User         User   `json:"user"`
	NewUser      *bool  `json:"newUser,omitempty"`
	// Signals is sent after a passkey login (see SignalBackend).
	Signals *Signals `json:"signals,omitempty"`
}

func (h *Handler) signUpOrLogin(r *http.Request, w http.ResponseWriter) (any, error) {
	if h.opts.DisableOTP {
		return nil, errOTPDisabled
	}
	req, email, err := h.decodeEmailCode(w, r)
	if err != nil {
		return nil, err
	}
	c := h.client(r)
	if err := h.limit(r, "ip:"+ipKey(c.RemoteAddr), h.opts.IPLimit); err != nil {
		return nil, err
	}
	if req.OTP == nil {
		if err := h.limit(r, "email:"+email, h.opts.EmailLimit); err != nil {
			return nil, err
		}
		res, err := h.opts.Backend.StartOTP(r.Context(), email, c)
		if err != nil {
			return nil, err
		}
		h.emit(r, Event{Kind: EventCodeSent, Reason: "sign_in"})
		return otpSentResponse{OTPSent: true, ExpiresInSeconds: int64(res.ExpiresIn.Seconds())}, nil
	}
	var u User
	var created bool
	if err := h.checkOTP(r, email, func() (err error) {
		u, created, err = h.opts.Backend.FinishOTP(r.Context(), email, *req.OTP, c)
		return err
	}); err != nil {
		return nil, err
	}
	h.signedIn(r, u, MethodOTP, created)
	return h.issue(r, w, u, MethodOTP, &created)
}

// issue creates a session for u, who just signed in by m, passing the
// Authentication and the Client to IssueSession in its context. With
// cookie sessions it sets the cookie and, unless TokenInBody, leaves the
// token out of the answer.
func (h *Handler) issue(r *http.Request, w http.ResponseWriter, u User, m Method, created *bool) (any, error) {
	ctx := withAuthentication(r.Context(), Authentication{Method: m, NewUser: created != nil && *created, At: h.opts.Clock()})
	ctx = withClient(ctx, h.client(r))
	token, err := h.opts.SessionIssuer.IssueSession(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("issuing session: %w", err)
	}
	if token == "" {
		return nil, errors.New("issuing session: the session issuer returned an empty token")
	}
	if h.cookie != nil {
		if err := h.cookie.set(w, token); err != nil {
			return nil, fmt.Errorf("issuing session: %w", err)
		}
		if !h.cookie.tokenInBody {
			token = ""
		}
	}
	h.emit(r, Event{Kind: EventSessionCreated, User: u, Method: m, NewUser: created != nil && *created})
	return sessionResponse{SessionToken: token, User: u, NewUser: created}, nil
}

// startRequest is the body of the start endpoints that take no email.
type startRequest struct {
	ClientCapabilities map[string]bool `json:"clientCapabilities"`
	// Hints is read only to refuse it with a reason (see noHints).
	Hints json.RawMessage `json:"hints"`
}

type appendStartResponse struct {
	AppendAllow        bool            `json:"appendAllow"`
	AttestationOptions json.RawMessage `json:"attestationOptions,omitempty"`
}

type appendStartRequest struct {
	ClientCapabilities map[string]bool `json:"clientCapabilities"`
	// Mediation is "" or "conditional" (the automatic passkey upgrade, see
	// ConditionalAppender).
	Mediation string `json:"mediation"`
	// Hints, when present, is Client.Hints (see parseHints).
	Hints json.RawMessage `json:"hints"`
}

func (h *Handler) appendStart(r *http.Request, w http.ResponseWriter) (any, error) {
	var req appendStartRequest
	err := h.decodeJSON(w, r, &req)
	if err != nil {
		return nil, err
	}
	u, _ := UserFromContext(r.Context())
	c := h.client(r)
	c.Capabilities = req.ClientCapabilities
	start := h.opts.Backend.StartAppend
	switch req.Mediation {
	case "":
		if c.Hints, err = parseHints(req.Hints); err != nil {
			return nil, err
		}
	case "conditional":
		if err := noHints(req.Hints, "a conditional create"); err != nil {
			return nil, err
		}
		ca, ok := h.opts.Backend.(ConditionalAppender)
		if !ok {
			return nil, ErrNotSupported.With("This passkey backend cannot create a passkey by conditional mediation; use the plain passkey/append/start.", nil)
		}
		start = ca.StartConditionalAppend
	default:
		return nil, ErrInvalidRequest.With(`mediation must be "conditional" or absent.`, nil)
	}
	res, err := start(r.Context(), u, c)
	if err != nil {
		return nil, err
	}
	if !res.Allow {
		res.Options = nil
	}
	return appendStartResponse{AppendAllow: res.Allow, AttestationOptions: res.Options}, nil
}

type appendFinishRequest struct {
	AttestationResponse json.RawMessage `json:"attestationResponse"`
}

func (h *Handler) appendFinish(r *http.Request, w http.ResponseWriter) (any, error) {
	var req appendFinishRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	resp, err := credentialJSON("attestationResponse", req.AttestationResponse)
	if err != nil {
		return nil, err
	}
	u, _ := UserFromContext(r.Context())
	p, err := h.opts.Backend.FinishAppend(r.Context(), u, resp, h.client(r))
	if err != nil {
		return nil, err
	}
	h.emit(r, Event{Kind: EventPasskeyAdded, PasskeyID: p.ID, PasskeyName: p.Name})
	return struct {
		Passkey Passkey `json:"passkey"`
	}{p}, nil
}

type loginStartRequest struct {
	Email              string          `json:"email"`
	ClientCapabilities map[string]bool `json:"clientCapabilities"`
	// Hints, when present, is Client.Hints (see parseHints).
	Hints json.RawMessage `json:"hints"`
}

type loginStartResponse struct {
	LoginAllow       bool            `json:"loginAllow"`
	AssertionOptions json.RawMessage `json:"assertionOptions,omitempty"`
}

func (h *Handler) loginStart(r *http.Request, w http.ResponseWriter) (any, error) {
	var req loginStartRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	email, err := normalizeEmail(req.Email)
	if err != nil {
		return nil, err
	}
	h.about(r, email)
	c := h.client(r)
	c.Capabilities = req.ClientCapabilities
	if c.Hints, err = parseHints(req.Hints); err != nil {
		return nil, err
	}
	if err := h.limit(r, "start:"+ipKey(c.RemoteAddr), h.opts.StartLimit); err != nil {
		return nil, err
	}
	res, err := h.opts.Backend.StartLogin(r.Context(), email, c)
	return loginStartResult(res, err)
}

func loginStartResult(res LoginStart, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	if !res.Allow {
		res.Options = nil
	}
	return loginStartResponse{LoginAllow: res.Allow, AssertionOptions: res.Options}, nil
}

type loginFinishRequest struct {
	AssertionResponse json.RawMessage `json:"assertionResponse"`
}

func (h *Handler) loginFinish(r *http.Request, w http.ResponseWriter) (any, error) {
	return h.finishLogin(r, w, MethodPasskey, h.opts.Backend.FinishLogin)
}

func (h *Handler) mediationStart(r *http.Request, w http.ResponseWriter) (any, error) {
	var req startRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	if err := noHints(req.Hints, "autofill"); err != nil {
		return nil, err
	}
	c := h.client(r)
	c.Capabilities = req.ClientCapabilities
	if err := h.limit(r, "start:"+ipKey(c.RemoteAddr), h.opts.StartLimit); err != nil {
		return nil, err
	}
	res, err := h.opts.Backend.StartMediation(r.Context(), c)
	return loginStartResult(res, err)
}

func (h *Handler) mediationFinish(r *http.Request, w http.ResponseWriter) (any, error) {
	return h.finishLogin(r, w, MethodAutofill, h.opts.Backend.FinishMediation)
}

func (h *Handler) finishLogin(r *http.Request, w http.ResponseWriter, m Method, finish func(ctx context.Context, resp json.RawMessage, c Client) (User, error)) (any, error) {
	var req loginFinishRequest
	if err := h.decodeJSON(w, r, &req); err != nil {
		return nil, err
	}
	resp, err := credentialJSON("assertionResponse", req.AssertionResponse)
	if err != nil {
		return nil, err
	}
	// The backend may keep the account it read in the context, so that
	// the signals below do not read it again.
	ctx := loginmemo.With(r.Context())
	u, err := finish(ctx, resp, h.client(r))
	if err != nil {
		return nil, err
	}
	h.signedIn(r, u, m, false)
	v, err := h.issue(r, w, u, m, nil)
	if sr, ok := v.(sessionResponse); ok && err == nil {
		sr.Signals = h.signals(ctx, u)
		return sr, nil
	}
	return v, err
}

func (h *Handler) listPasskeys(r *http.Request, _ http.ResponseWriter) (any, error) {
	u, _ := UserFromContext(r.Context())
	list, err := h.opts.Backend.ListPasskeys(r.Context(), u)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []Passkey{}
	}
	return struct {
		Passkeys []Passkey `json:"passkeys"`
		Signals  *Signals  `json:"signals,omitempty"`
	}{list, h.signals(r.Context(), u)}, nil
}

func (h *Handler) deletePasskey(r *http.Request, _ http.ResponseWriter) (any, error) {
	id := r.PathValue("id")
	if err := checkPasskeyID(id); err != nil {
		return nil, err
	}
	if err := h.recent(r); err != nil {
		return nil, err
	}
	u, _ := UserFromContext(r.Context())
	if err := h.opts.Backend.DeletePasskey(r.Context(), u, id); err != nil {
		return nil, err
	}
	h.emit(r, Event{Kind: EventPasskeyRemoved, PasskeyID: id})
	if sig := h.signals(r.Context(), u); sig != nil {
		return struct {
			Signals *Signals `json:"signals"`
		}{sig}, nil
	}
	return nil, nil
}

// checkPasskeyID refuses a passkey id of a path that is not an unpadded
// base64url credential ID of 1 to 1023 bytes.
func checkPasskeyID(id string) error {
	if raw, err := base64.RawURLEncoding.DecodeString(id); err != nil || len(raw) == 0 || len(raw) > 1023 {
		return ErrInvalidRequest.With("The passkey id must be an unpadded base64url credential ID.", err)
	}
	return nil
}

// limit takes one event from key's bucket.
func (h *Handler) limit(r *http.Request, key string, rate Rate) error {
	ok, wait, err := h.opts.Limiter.Allow(r.Context(), key, rate)
	if err != nil {
		return fmt.Errorf("rate limiter: %w", err)
	}
	if !ok {
		h.emit(r, Event{Kind: EventRateLimited, Reason: limitClass(key)})
		e := ErrTooManyAttempts.With("Too many requests; try again later.", nil)
		e.RetryAfter = wait
		return e
	}
	return nil
}

// normalizeEmail returns the canonical form of an address (see
// internal/mailaddr: one form per mailbox, on which accounts and every
// per-email limit key) or ErrInvalidRequest whose detail says why it is
// refused.
func normalizeEmail(s string) (string, error) {
	e, err := mailaddr.Canonical(s)
	if err != nil {
		var me *mailaddr.Error
		if errors.As(err, &me) {
			return "", ErrInvalidRequest.With(me.Reason.Error(), err)
		}
		return "", ErrInvalidRequest.With(mailaddr.ErrInvalid.Error(), err)
	}
	return e, nil
}

func isOTP(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseHints reads the "hints" member of a start request: absent is nil
// (the backend's defaults); otherwise it must be an array of one to three
// standard hints, none twice, or the request is 400 invalid_request
// before anything is started or stored.
func parseHints(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, ErrInvalidRequest.With(fmt.Sprintf("hints must be a JSON array of strings, one or more of %q, %q and %q.", HintSecurityKey, HintClientDevice, HintHybrid), err)
	}
	if err := hints.Check(list); err != nil {
		if errors.Is(err, hints.ErrEmpty) {
			return nil, ErrInvalidRequest.With("hints names no hint; leave it out for the server's defaults.", err)
		}
		return nil, ErrInvalidRequest.With("hints "+err.Error()+".", err)
	}
	return list, nil
}

// noHints refuses a "hints" member on a start whose ceremony shows no
// dialog (autofill, a conditional create): hints guide the browser's
// modal dialog (WebAuthn L3 §5.8.7), so there they would be ignored, and
// a client that sends them has mistaken the ceremony.
func noHints(raw json.RawMessage, what string) error {
	if raw == nil {
		return nil
	}
	return ErrInvalidRequest.With(fmt.Sprintf("hints do not apply to %s, which shows no dialog for them to guide; leave them out.", what), nil)
}
