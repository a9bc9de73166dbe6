package passkeystest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/passkeyready/passkeys"
)

// ErrNotAllowed is returned, wrapped, by the whole-ceremony methods of
// [Client] when the start endpoint answers that the ceremony may not go on
// (appendAllow or loginAllow false), for example a login for an email
// without a passkey.
var ErrNotAllowed = errors.New("passkeystest: the server did not allow the ceremony")

// ErrNoCode is returned, wrapped, by [Client.SignUpOrLogin] when the
// client has no [Mailbox] or the mailbox holds no code for the email.
var ErrNoCode = errors.New("passkeystest: no one-time code was sent")

// maxBody caps how much of a response a Client reads.
const maxBody = 8 << 20

// ClientOptions configures a [Client]. The zero value is valid: every
// field has a default.
type ClientOptions struct {
	// HTTPClient sends every request. Default: http.DefaultClient.
	HTTPClient *http.Client
	// Authenticator answers the passkey ceremonies, playing the browser
	// and the device at once. Default: New with the origin (scheme and
	// host) of the base URL, as a browser on a page served by the same
	// server would claim. Set it when the relying party's origin differs
	// from the server's address, as it does behind httptest.
	Authenticator *Authenticator
	// Mailbox is where [Client.SignUpOrLogin] reads the code the server
	// sent: the Mailbox the backend's OTP sender writes to. Default: none;
	// SignUpOrLogin then fails with ErrNoCode, while RequestCode and
	// SubmitCode work.
	Mailbox *Mailbox
	// Header holds headers sent with every request, such as a User-Agent
	// (the passkey's name is derived from it). Default: none.
	Header http.Header
}

// Client runs whole ceremonies against a mounted [passkeys.Handler] over
// HTTP, the way the web page and the browser do: sign-up or login by
// emailed code, appending a passkey, login by button and by autofill
// (conditional mediation), listing and deleting passkeys, logout, listing
// and revoking sessions, and the account's export, email change and
// deletion. Each ceremony
// has a one-call method, and its steps are methods of their own for tests
// that alter a response in between (see [Tamper]).
//
// A Client holds no session: the methods that need one take the session
// token a login returned, so one Client may act for several users. A
// Client is safe for concurrent use while its Authenticator's exported
// fields stay unchanged.
//
// Every method returns an [*Error] for a status other than the endpoint's
// success status, and an error naming the endpoint for a success answer
// that lacks what the contract promises.
type Client struct {
	base   string
	err    error // the base URL's parse error, returned by every request
	http   *http.Client
	auth   *Authenticator
	mail   *Mailbox
	header http.Header
}

// NewClient returns a client for the handler mounted at baseURL, which
// includes the mount prefix: for a handler mounted with
//
//	mux.Handle("/auth/", http.StripPrefix("/auth", h))
//
// on an httptest.Server ts, baseURL is ts.URL + "/auth". A trailing slash
// is ignored. A baseURL that does not parse makes every method fail.
func NewClient(baseURL string, o ClientOptions) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/"), http: o.HTTPClient, auth: o.Authenticator, mail: o.Mailbox, header: o.Header.Clone()}
	u, err := url.Parse(c.base)
	switch {
	case err != nil:
		c.err = fmt.Errorf("passkeystest: base URL: %w", err)
	case u.Scheme == "" || u.Host == "":
		c.err = fmt.Errorf("passkeystest: base URL %q is not absolute", baseURL)
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.auth == nil {
		origin := ""
		if c.err == nil {
			origin = u.Scheme + "://" + u.Host
		}
		c.auth = New(origin)
	}
	return c
}

// Authenticator returns the authenticator that answers the client's
// ceremonies: the one in [ClientOptions], or the default one.
func (c *Client) Authenticator() *Authenticator { return c.auth }

// Session is a login: the session token and the user it is for.
type Session struct {
	// Token is the session token (sessionToken), for the Authorization
	// header of guarded requests.
	Token string
	// User is the signed-in user.
	User passkeys.User
	// NewUser is set by the code flow only (it is nil after a passkey
	// login): true when the code created the account, false when it
	// logged in to an existing one.
	NewUser *bool
}

// CodeSent is the answer to a code request.
type CodeSent struct {
	// ExpiresIn is how long the code is valid (expiresInSeconds).
	ExpiresIn time.Duration
}

// Ceremony is the answer of a start endpoint.
type Ceremony struct {
	// Allowed reports whether the ceremony may go on (appendAllow or
	// loginAllow).
	Allowed bool
	// Options is the JSON to hand to [Authenticator.Create] (the
	// attestationOptions) or [Authenticator.Get] (the assertionOptions);
	// nil when not Allowed.
	Options json.RawMessage
}

// Error is an answer with a status other than the endpoint's success
// status. When the body is a problem document (RFC 9457), Code, Title,
// Detail and Type hold its fields; check them with errors.As:
//
//	var e *passkeystest.Error
//	if errors.As(err, &e) && e.Code == "otp_invalid" { ... }
type Error struct {
	// Method and Path name the request; Path is below the base URL,
	// such as "/passkey/login/finish".
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Code is the problem's stable machine code, such as "otp_invalid"
	// or "too_many_attempts"; empty when the body is not a problem
	// document.
	Code string
	// Title, Detail and Type are the problem's fields of those names.
	Title, Detail, Type string
	// Header is the response header; Retry-After accompanies a 429.
	Header http.Header
	// Body is the raw response body.
	Body []byte
}

// Error reports the request, the status and the problem's code and detail.
func (e *Error) Error() string {
	s := fmt.Sprintf("passkeystest: %s %s: status %d", e.Method, e.Path, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// RequestCode asks the server to email a one-time code to email
// (POST /signUpOrLogin with the email only).
func (c *Client) RequestCode(ctx context.Context, email string) (CodeSent, error) {
	return c.codeSent(ctx, "/signUpOrLogin", "", email)
}

// SubmitCode sends the code emailed to email and returns the session
// (POST /signUpOrLogin with the email and the code).
func (c *Client) SubmitCode(ctx context.Context, email, code string) (Session, error) {
	return c.session(ctx, "/signUpOrLogin", "", map[string]string{"email": email, "otp": code})
}

// SignUpOrLogin runs the code flow for email: it requests a code, reads the
// newest one from the Mailbox (under the canonical address the handler
// sends it to) and submits it.
func (c *Client) SignUpOrLogin(ctx context.Context, email string) (Session, error) {
	code, err := c.requestAndRead(ctx, email, func() error {
		_, err := c.RequestCode(ctx, email)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return c.SubmitCode(ctx, email, code)
}

// codeSent posts {"email"} to path, the first step of a code flow.
func (c *Client) codeSent(ctx context.Context, path, token, email string) (CodeSent, error) {
	var out struct {
		OTPSent          bool  `json:"otpSent"`
		ExpiresInSeconds int64 `json:"expiresInSeconds"`
	}
	if err := c.do(ctx, http.MethodPost, path, token, map[string]string{"email": email}, http.StatusOK, &out); err != nil {
		return CodeSent{}, err
	}
	if !out.OTPSent {
		return CodeSent{}, c.incomplete(http.MethodPost, path, "otpSent is not true")
	}
	return CodeSent{ExpiresIn: time.Duration(out.ExpiresInSeconds) * time.Second}, nil
}

// requestAndRead runs request and returns the newest code for email in
// the Mailbox, under the canonical address the handler sends it to. Within
// the resend cooldown the server sends nothing and the code it sent before
// stays valid, so the newest code is the one to submit.
func (c *Client) requestAndRead(ctx context.Context, email string, request func() error) (string, error) {
	to := canonical(email)
	if c.mail == nil {
		return "", fmt.Errorf("%w to %s: ClientOptions.Mailbox is not set", ErrNoCode, to)
	}
	if err := request(); err != nil {
		return "", err
	}
	code, ok := c.mail.Last(to)
	if !ok {
		return "", fmt.Errorf("%w to %s", ErrNoCode, to)
	}
	return code, nil
}

// StartAppend starts adding a passkey to the signed-in user
// (POST /passkey/append/start).
func (c *Client) StartAppend(ctx context.Context, token string) (Ceremony, error) {
	return c.startAppend(ctx, token, struct{}{})
}

// StartConditionalAppend starts the automatic passkey upgrade, a
// conditional create (POST /passkey/append/start {"mediation":"conditional"}).
// Finish it with [Client.FinishAppend]; set the authenticator's
// UserPresent to false to answer as a password manager that creates the
// passkey without asking.
func (c *Client) StartConditionalAppend(ctx context.Context, token string) (Ceremony, error) {
	return c.startAppend(ctx, token, map[string]string{"mediation": "conditional"})
}

// StartAppendWithHints starts adding a passkey and asks for the WebAuthn
// hints, most preferred first (POST /passkey/append/start {"hints"}).
// The options then carry them in publicKey.hints; hints nil sends an
// empty array, which the server refuses.
func (c *Client) StartAppendWithHints(ctx context.Context, token string, hints []string) (Ceremony, error) {
	if hints == nil {
		hints = []string{}
	}
	return c.startAppend(ctx, token, map[string][]string{"hints": hints})
}

func (c *Client) startAppend(ctx context.Context, token string, body any) (Ceremony, error) {
	var out struct {
		Allow   bool            `json:"appendAllow"`
		Options json.RawMessage `json:"attestationOptions"`
	}
	if err := c.do(ctx, http.MethodPost, "/passkey/append/start", token, body, http.StatusOK, &out); err != nil {
		return Ceremony{}, err
	}
	return c.ceremony(http.MethodPost, "/passkey/append/start", out.Allow, out.Options)
}

// FinishAppend sends the authenticator's attestation response and returns
// the stored passkey (POST /passkey/append/finish).
func (c *Client) FinishAppend(ctx context.Context, token string, attestation json.RawMessage) (passkeys.Passkey, error) {
	const path = "/passkey/append/finish"
	var out struct {
		Passkey passkeys.Passkey `json:"passkey"`
	}
	if err := c.do(ctx, http.MethodPost, path, token, map[string]json.RawMessage{"attestationResponse": attestation}, http.StatusOK, &out); err != nil {
		return passkeys.Passkey{}, err
	}
	if out.Passkey.ID == "" {
		return passkeys.Passkey{}, c.incomplete(http.MethodPost, path, "no passkey.id")
	}
	return out.Passkey, nil
}

// AppendPasskey adds a passkey on the client's authenticator to the user
// whose session token is token: start, create, finish. It fails with
// [ErrNotAllowed] when the server does not allow the append, and with
// [ErrExcluded] when the authenticator already holds one of the user's
// passkeys.
func (c *Client) AppendPasskey(ctx context.Context, token string) (passkeys.Passkey, error) {
	cer, err := c.StartAppend(ctx, token)
	if err != nil {
		return passkeys.Passkey{}, err
	}
	if !cer.Allowed {
		return passkeys.Passkey{}, fmt.Errorf("%w (append)", ErrNotAllowed)
	}
	att, err := c.auth.Create(cer.Options)
	if err != nil {
		return passkeys.Passkey{}, fmt.Errorf("%w (append)", err)
	}
	return c.FinishAppend(ctx, token, att)
}

// StartLogin starts a button login for email
// (POST /passkey/login/start). Allowed is false when the email has no
// passkey, or no account.
func (c *Client) StartLogin(ctx context.Context, email string) (Ceremony, error) {
	return c.startLogin(ctx, "/passkey/login/start", map[string]string{"email": email})
}

// StartLoginWithHints starts a button login for email and asks for the
// WebAuthn hints, most preferred first (POST /passkey/login/start
// {"email","hints"}). hints nil sends an empty array, which the server
// refuses.
func (c *Client) StartLoginWithHints(ctx context.Context, email string, hints []string) (Ceremony, error) {
	if hints == nil {
		hints = []string{}
	}
	return c.startLogin(ctx, "/passkey/login/start", map[string]any{"email": email, "hints": hints})
}

// FinishLogin sends the authenticator's assertion response to a button
// login and returns the session (POST /passkey/login/finish).
func (c *Client) FinishLogin(ctx context.Context, assertion json.RawMessage) (Session, error) {
	return c.session(ctx, "/passkey/login/finish", "", map[string]json.RawMessage{"assertionResponse": assertion})
}

// LoginWithPasskey runs a button login for email with the client's
// authenticator: start, get, finish. It fails with [ErrNotAllowed] when
// the email has no passkey, and with [ErrNoCredential] when the
// authenticator holds none of the listed ones.
func (c *Client) LoginWithPasskey(ctx context.Context, email string) (Session, error) {
	cer, err := c.StartLogin(ctx, email)
	if err != nil {
		return Session{}, err
	}
	return c.finishLogin(ctx, cer, "login", c.FinishLogin)
}

// StartMediation starts a conditional-UI login, the one behind the email
// field's autofill (POST /passkey/mediation/start).
func (c *Client) StartMediation(ctx context.Context) (Ceremony, error) {
	return c.startLogin(ctx, "/passkey/mediation/start", struct{}{})
}

// FinishMediation sends the authenticator's assertion response to a
// conditional-UI login and returns the session
// (POST /passkey/mediation/finish).
func (c *Client) FinishMediation(ctx context.Context, assertion json.RawMessage) (Session, error) {
	return c.session(ctx, "/passkey/mediation/finish", "", map[string]json.RawMessage{"assertionResponse": assertion})
}

// LoginWithAutofill runs a conditional-UI login, as when the user picks a
// passkey from the email field's autofill: start, get, finish. The
// authenticator answers with the first passkey it holds for the relying
// party, failing with [ErrNoCredential] when it holds none.
func (c *Client) LoginWithAutofill(ctx context.Context) (Session, error) {
	cer, err := c.StartMediation(ctx)
	if err != nil {
		return Session{}, err
	}
	return c.finishLogin(ctx, cer, "autofill login", c.FinishMediation)
}

// Passkeys lists the signed-in user's passkeys (GET /passkeys).
func (c *Client) Passkeys(ctx context.Context, token string) ([]passkeys.Passkey, error) {
	var out struct {
		Passkeys []passkeys.Passkey `json:"passkeys"`
	}
	if err := c.do(ctx, http.MethodGet, "/passkeys", token, nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	return out.Passkeys, nil
}

// Activity lists the signed-in user's recorded security events, newest
// first (GET /account/activity); the server answers 404 when it keeps no
// record ([passkeys.Options.Activity] unset).
func (c *Client) Activity(ctx context.Context, token string) ([]passkeys.Activity, error) {
	const path = "/account/activity"
	var out struct {
		Activity []passkeys.Activity `json:"activity"`
	}
	if err := c.do(ctx, http.MethodGet, path, token, nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	if out.Activity == nil {
		return nil, c.incomplete(http.MethodGet, path, "no activity")
	}
	return out.Activity, nil
}

// DeletePasskey deletes the signed-in user's passkey id, the base64url
// credential ID of [passkeys.Passkey] (DELETE /passkeys/{id}). The
// answer is 204, or 200 with the Signal API data from a backend that
// has it ([passkeys.SignalBackend]).
func (c *Client) DeletePasskey(ctx context.Context, token, id string) error {
	return c.do(ctx, http.MethodDelete, "/passkeys/"+url.PathEscape(id), token, nil, http.StatusNoContent, nil)
}

// Logout ends the session of token (POST /logout). A session system that
// can revoke sessions refuses the token from then on; with the demo JWTs
// the token stays valid until it expires.
func (c *Client) Logout(ctx context.Context, token string) error {
	return c.do(ctx, http.MethodPost, "/logout", token, struct{}{}, http.StatusNoContent, nil)
}

// Sessions lists the signed-in user's sessions, newest first, the one of
// token marked Current (GET /sessions).
func (c *Client) Sessions(ctx context.Context, token string) ([]passkeys.SessionInfo, error) {
	var out struct {
		Sessions []passkeys.SessionInfo `json:"sessions"`
	}
	if err := c.do(ctx, http.MethodGet, "/sessions", token, nil, http.StatusOK, &out); err != nil {
		return nil, err
	}
	return out.Sessions, nil
}

// RevokeSession ends the signed-in user's session id, the ID of a
// [passkeys.SessionInfo] (DELETE /sessions/{id}).
func (c *Client) RevokeSession(ctx context.Context, token, id string) error {
	return c.do(ctx, http.MethodDelete, "/sessions/"+url.PathEscape(id), token, nil, http.StatusNoContent, nil)
}

// Account is the data export of GET /account.
type Account struct {
	User     passkeys.User
	Passkeys []passkeys.Passkey
	// Sessions is empty when the session system does not list sessions.
	Sessions []passkeys.SessionInfo
}

// Account returns the signed-in user's data export: the user, their
// passkeys and their sessions (GET /account).
func (c *Client) Account(ctx context.Context, token string) (Account, error) {
	const path = "/account"
	var out struct {
		User     passkeys.User          `json:"user"`
		Passkeys []passkeys.Passkey     `json:"passkeys"`
		Sessions []passkeys.SessionInfo `json:"sessions"`
	}
	if err := c.do(ctx, http.MethodGet, path, token, nil, http.StatusOK, &out); err != nil {
		return Account{}, err
	}
	if out.User.ID == "" || out.Passkeys == nil || out.Sessions == nil {
		return Account{}, c.incomplete(http.MethodGet, path, "no user.id, passkeys or sessions")
	}
	return Account{User: out.User, Passkeys: out.Passkeys, Sessions: out.Sessions}, nil
}

// DeleteAccount deletes the signed-in user's account, their passkeys and
// sessions (DELETE /account). It needs a recent sign-in.
func (c *Client) DeleteAccount(ctx context.Context, token string) error {
	return c.do(ctx, http.MethodDelete, "/account", token, nil, http.StatusNoContent, nil)
}

// RequestEmailChange asks the server to email a one-time code to email, the
// signed-in user's new address (POST /account/email with the email only).
// It needs a recent sign-in.
func (c *Client) RequestEmailChange(ctx context.Context, token, email string) (CodeSent, error) {
	return c.codeSent(ctx, "/account/email", token, email)
}

// SubmitEmailChange sends the code emailed to the new address email; the
// account moves to it, the user's sessions end and the new session is
// returned (POST /account/email with the email and the code).
func (c *Client) SubmitEmailChange(ctx context.Context, token, email, code string) (Session, error) {
	return c.session(ctx, "/account/email", token, map[string]string{"email": email, "otp": code})
}

// ChangeEmail runs the email change to email: it requests a code, reads the
// newest one for email from the Mailbox and submits it. It fails with
// [ErrNoCode] when the Mailbox holds no code for email, as for an address
// of another account (which is sent none).
func (c *Client) ChangeEmail(ctx context.Context, token, email string) (Session, error) {
	code, err := c.requestAndRead(ctx, email, func() error {
		_, err := c.RequestEmailChange(ctx, token, email)
		return err
	})
	if err != nil {
		return Session{}, err
	}
	return c.SubmitEmailChange(ctx, token, email, code)
}

func (c *Client) startLogin(ctx context.Context, path string, body any) (Ceremony, error) {
	var out struct {
		Allow   bool            `json:"loginAllow"`
		Options json.RawMessage `json:"assertionOptions"`
	}
	if err := c.do(ctx, http.MethodPost, path, "", body, http.StatusOK, &out); err != nil {
		return Ceremony{}, err
	}
	return c.ceremony(http.MethodPost, path, out.Allow, out.Options)
}

func (c *Client) finishLogin(ctx context.Context, cer Ceremony, what string, finish func(context.Context, json.RawMessage) (Session, error)) (Session, error) {
	if !cer.Allowed {
		return Session{}, fmt.Errorf("%w (%s)", ErrNotAllowed, what)
	}
	resp, err := c.auth.Get(cer.Options)
	if err != nil {
		return Session{}, fmt.Errorf("%w (%s)", err, what)
	}
	return finish(ctx, resp)
}

// ceremony checks that an allowed start carries options.
func (c *Client) ceremony(method, path string, allowed bool, options json.RawMessage) (Ceremony, error) {
	if !allowed {
		return Ceremony{}, nil
	}
	if len(options) == 0 || string(options) == "null" {
		return Ceremony{}, c.incomplete(method, path, "allowed without options")
	}
	return Ceremony{Allowed: true, Options: options}, nil
}

// session posts body to path, with token unless empty, and decodes the
// session it answers.
func (c *Client) session(ctx context.Context, path, token string, body any) (Session, error) {
	var out struct {
		SessionToken string        `json:"sessionToken"`
		User         passkeys.User `json:"user"`
		NewUser      *bool         `json:"newUser"`
	}
	if err := c.do(ctx, http.MethodPost, path, token, body, http.StatusOK, &out); err != nil {
		return Session{}, err
	}
	if out.SessionToken == "" || out.User.ID == "" {
		return Session{}, c.incomplete(http.MethodPost, path, "no sessionToken or user.id")
	}
	return Session{Token: out.SessionToken, User: out.User, NewUser: out.NewUser}, nil
}

func (c *Client) incomplete(method, path, what string) error {
	return fmt.Errorf("passkeystest: %s %s: success answer with %s", method, path, what)
}

// do sends a request to path below the base URL, with body as JSON unless
// nil and token as the bearer token unless empty. An answer with status
// want is decoded into out unless out is nil; any other is an *Error.
func (c *Client) do(ctx context.Context, method, path, token string, body any, want int, out any) error {
	if c.err != nil {
		return c.err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("passkeystest: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("passkeystest: %s %s: %w", method, path, err)
	}
	for k, vs := range c.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("passkeystest: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return fmt.Errorf("passkeystest: %s %s: reading the answer: %w", method, path, err)
	}
	if res.StatusCode != want && !(want == http.StatusNoContent && method == http.MethodDelete && strings.HasPrefix(path, "/passkeys/") && res.StatusCode == http.StatusOK) {
		e := &Error{Method: method, Path: path, Status: res.StatusCode, Header: res.Header, Body: raw}
		var p struct {
			Type   string `json:"type"`
			Title  string `json:"title"`
			Detail string `json:"detail"`
			Code   string `json:"code"`
		}
		if json.Unmarshal(raw, &p) == nil {
			e.Code, e.Title, e.Detail, e.Type = p.Code, p.Title, p.Detail, p.Type
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("passkeystest: %s %s: status %d with a body that is not the expected JSON: %w", method, path, res.StatusCode, err)
	}
	return nil
}
