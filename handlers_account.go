package passkeys

import (
	"errors"
	"fmt"
	"net/http"
)

// errOTPDisabled answers the OTP endpoints when Options.DisableOTP is set.
var errOTPDisabled = ErrNotFound.With("One-time codes are switched off on this server (Options.DisableOTP).", nil)

// errNoSessionList answers the session-list endpoints when the session
// system keeps no sessions on the server (it is not a SessionManager).
var errNoSessionList = ErrNotFound.With("The session system of this server does not list sessions.", nil)

// errNoAccounts answers the account endpoints when the Backend is not an
// AccountBackend.
var errNoAccounts = ErrNotFound.With("The backend of this server does not manage accounts.", nil)

// recent refuses the request with ErrReauthenticationRequired unless its
// session signed in within Options.ReauthenticationAge. A session whose
// sign-in time is unknown (zero) is not recent.
func (h *Handler) recent(r *http.Request) error {
	if h.opts.ReauthenticationAge < 0 {
		return nil
	}
	s, _ := SessionFromContext(r.Context())
	at := s.Authentication.At
	if at.IsZero() || h.opts.Clock().Sub(at) > h.opts.ReauthenticationAge {
		return ErrReauthenticationRequired
	}
	return nil
}

// clearCookie removes the session cookie, with cookie sessions.
func (h *Handler) clearCookie(w http.ResponseWriter) {
	if h.cookie != nil {
		h.cookie.clear(w)
	}
}

func (h *Handler) sessionManager() (SessionManager, bool) {
	m, ok := h.opts.SessionVerifier.(SessionManager)
	return m, ok
}

func (h *Handler) accountBackend() (AccountBackend, error) {
	a, ok := h.opts.Backend.(AccountBackend)
	if !ok {
		return nil, errNoAccounts
	}
	return a, nil
}

// logout revokes the presented session when the session system is a
// SessionRevoker; with any other (the demo JWTs) the token stays valid
// until it expires. With cookie sessions it clears the cookie.
func (h *Handler) logout(r *http.Request, w http.ResponseWriter) (any, error) {
	// The body is empty or {}; it is read as every other body is, so that
	// a malformed one is refused before the session ends.
	if err := h.decodeJSON(w, r, &struct{}{}); err != nil {
		return nil, err
	}
	if rv, ok := h.opts.SessionVerifier.(SessionRevoker); ok {
		if err := rv.RevokeSession(r.Context(), tokenFromContext(r.Context())); err != nil {
			return nil, fmt.Errorf("revoking the session: %w", err)
		}
		h.emit(r, Event{Kind: EventSessionRevoked, SessionID: sessionID(r), Reason: "logout"})
	}
	h.clearCookie(w)
	return nil, nil
}

type sessionsResponse struct {
	Sessions []SessionInfo `json:"sessions"`
}

// userSessions lists the user's sessions, marking the request's own.
func (h *Handler) userSessions(r *http.Request, m SessionManager) ([]SessionInfo, error) {
	s, _ := SessionFromContext(r.Context())
	list, err := m.ListSessions(r.Context(), s.User.ID)
	if err != nil {
		return nil, fmt.Errorf("listing sessions: %w", err)
	}
	if list == nil {
		list = []SessionInfo{}
	}
	for i := range list {
		list[i].Current = s.ID != "" && list[i].ID == s.ID
	}
	return list, nil
}

func (h *Handler) listSessions(r *http.Request, _ http.ResponseWriter) (any, error) {
	m, ok := h.sessionManager()
	if !ok {
		return nil, errNoSessionList
	}
	list, err := h.userSessions(r, m)
	if err != nil {
		return nil, err
	}
	return sessionsResponse{list}, nil
}

// deleteSession revokes one of the user's sessions. Revoking the
// request's own session needs no recent sign-in (it is a logout, and
// clears the session cookie); any other does.
func (h *Handler) deleteSession(r *http.Request, w http.ResponseWriter) (any, error) {
	m, ok := h.sessionManager()
	if !ok {
		return nil, errNoSessionList
	}
	id := r.PathValue("id")
	if id == "" || len(id) > 256 {
		return nil, ErrInvalidRequest.With("The session id is malformed.", nil)
	}
	s, _ := SessionFromContext(r.Context())
	if id != s.ID {
		if err := h.recent(r); err != nil {
			return nil, err
		}
	}
	err := m.RevokeSessionByID(r.Context(), s.User.ID, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound.With("No session of yours has this id.", err)
	}
	if err != nil {
		return nil, fmt.Errorf("revoking a session: %w", err)
	}
	h.emit(r, Event{Kind: EventSessionRevoked, SessionID: id, Reason: "revoked"})
	if id == s.ID {
		h.clearCookie(w)
	}
	return nil, nil
}

type accountResponse struct {
	User     User          `json:"user"`
	Passkeys []Passkey     `json:"passkeys"`
	Sessions []SessionInfo `json:"sessions"`
}

// getAccount is a data export: the user, their passkeys and, when the
// session system lists them, their sessions ([] otherwise).
func (h *Handler) getAccount(r *http.Request, _ http.ResponseWriter) (any, error) {
	if _, err := h.accountBackend(); err != nil {
		return nil, err
	}
	u, _ := UserFromContext(r.Context())
	keys, err := h.opts.Backend.ListPasskeys(r.Context(), u)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		keys = []Passkey{}
	}
	res := accountResponse{User: u, Passkeys: keys, Sessions: []SessionInfo{}}
	if m, ok := h.sessionManager(); ok {
		if res.Sessions, err = h.userSessions(r, m); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// deleteAccount ends the account's sessions, deletes the account and then
// ends its sessions once more.
//
// The sessions go first because a session system need not know whether
// its user still exists (selfhosted.Sessions does not): deleting the
// account and then failing to revoke would leave live sessions of a
// deleted account that the user, whose own token may be gone already,
// cannot end. In this order a failed revoke changes nothing, and a
// failed delete leaves the user signed out with the account intact;
// either way the client gets the error and, signed in again, retries.
// The second round ends a session that a sign-in issued between the
// first and the deletion; when it fails the account is gone anyway and
// the caller's session ended, so the answer is 204 and the failure is
// logged at ERROR. With cookie sessions it clears the cookie.
func (h *Handler) deleteAccount(r *http.Request, w http.ResponseWriter) (any, error) {
	a, err := h.accountBackend()
	if err != nil {
		return nil, err
	}
	if err := h.recent(r); err != nil {
		return nil, err
	}
	u, _ := UserFromContext(r.Context())
	if err := h.endSessions(r, u); err != nil {
		return nil, err
	}
	if err := a.DeleteAccount(r.Context(), u); err != nil {
		return nil, err
	}
	if err := h.endSessions(r, u); err != nil {
		h.opts.Logger.ErrorContext(r.Context(), "passkeys: account deleted, but ending the sessions of its last moments failed",
			"method", r.Method, "path", fullPath(r), "cause", redactSecrets(err.Error()))
	}
	h.emit(r, Event{Kind: EventAccountDeleted})
	h.clearCookie(w)
	return nil, nil
}

// endSessions ends every session of u when the session system can, or the
// presented one when it can only revoke that.
func (h *Handler) endSessions(r *http.Request, u User) error {
	if m, ok := h.sessionManager(); ok {
		if err := m.RevokeUserSessions(r.Context(), u.ID); err != nil {
			return fmt.Errorf("revoking the user's sessions: %w", err)
		}
		return nil
	}
	if rv, ok := h.opts.SessionVerifier.(SessionRevoker); ok {
		if err := rv.RevokeSession(r.Context(), tokenFromContext(r.Context())); err != nil {
			return fmt.Errorf("revoking the session: %w", err)
		}
	}
	return nil
}

// changeEmail is two-phase like signUpOrLogin: {"email"} sends a code to
// the new address; {"email","otp"} moves the account to it, ends every
// session of the user and answers a new session.
func (h *Handler) changeEmail(r *http.Request, w http.ResponseWriter) (any, error) {
	if h.opts.DisableOTP {
		return nil, errOTPDisabled
	}
	a, err := h.accountBackend()
	if err != nil {
		return nil, err
	}
	req, email, err := h.decodeEmailCode(w, r)
	if err != nil {
		return nil, err
	}
	if err := h.recent(r); err != nil {
		return nil, err
	}
	c := h.client(r)
	if err := h.limit(r, "ip:"+ipKey(c.RemoteAddr), h.opts.IPLimit); err != nil {
		return nil, err
	}
	u, _ := UserFromContext(r.Context())
	if req.OTP == nil {
		if err := h.limit(r, "email:"+email, h.opts.EmailLimit); err != nil {
			return nil, err
		}
		res, err := a.StartEmailChange(r.Context(), u, email, c)
		if err != nil {
			return nil, err
		}
		h.emit(r, Event{Kind: EventCodeSent, Reason: "email_change"})
		return otpSentResponse{OTPSent: true, ExpiresInSeconds: int64(res.ExpiresIn.Seconds())}, nil
	}
	var nu User
	if err := h.checkOTP(r, email, func() (err error) {
		nu, err = a.FinishEmailChange(r.Context(), u, email, *req.OTP, c)
		return err
	}); err != nil {
		return nil, err
	}
	h.emit(r, Event{Kind: EventEmailChanged, User: nu, Email: nu.Email, OldEmail: u.Email})
	if err := h.endSessions(r, u); err != nil {
		return nil, err
	}
	return h.issue(r, w, nu, MethodOTP, nil)
}
