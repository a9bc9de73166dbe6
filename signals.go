package passkeys

import "context"

// Signals is what the WebAuthn Signal API's functions take, sent with a
// successful login (button and autofill), the passkey list and a passkey
// deletion, so that the page can tell the browser or password manager
// which passkeys the account still accepts and how it is named. Each
// member is the argument of the PublicKeyCredential function of that
// name and may be passed to it as it is; a member is left out when the
// backend does not know it.
type Signals struct {
	// AllAcceptedCredentials is for
	// PublicKeyCredential.signalAllAcceptedCredentials.
	AllAcceptedCredentials *AllAcceptedCredentials `json:"allAcceptedCredentials,omitempty"`
	// CurrentUserDetails is for PublicKeyCredential.signalCurrentUserDetails.
	CurrentUserDetails *CurrentUserDetails `json:"currentUserDetails,omitempty"`
}

// AllAcceptedCredentials lists every passkey the account accepts. UserID
// is the WebAuthn user handle (user.id of the creation options, unpadded
// base64url), not [User.ID]; the credential IDs are unpadded base64url.
type AllAcceptedCredentials struct {
	RPID                     string   `json:"rpId"`
	UserID                   string   `json:"userId"`
	AllAcceptedCredentialIDs []string `json:"allAcceptedCredentialIds"`
}

// CurrentUserDetails is the account's current WebAuthn user name and
// display name. UserID is the WebAuthn user handle, as in
// [AllAcceptedCredentials].
type CurrentUserDetails struct {
	RPID        string `json:"rpId"`
	UserID      string `json:"userId"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

// SignalBackend is an optional capability of a [Backend]: the Signal API
// data of an account. When the Backend has it, the login finishes, the
// passkey list and a passkey deletion answer with a "signals" member. The
// self-hosted engine has it; the Corbado backend does not (Corbado's API
// does not give the user handle).
//
// Implementations must be safe for concurrent use.
type SignalBackend interface {
	// Signals returns u's signal data as it is now, after the request's
	// change. An account that no longer exists is an error wrapping
	// [ErrUnauthorized] or [ErrNotFound].
	Signals(ctx context.Context, u User) (Signals, error)
}

// signals returns u's signal data, or nil when the backend has none. A
// failure to read it is logged and leaves the answer without signals:
// they are a hint to the browser, and the request itself succeeded.
func (h *Handler) signals(ctx context.Context, u User) *Signals {
	sb, ok := h.opts.Backend.(SignalBackend)
	if !ok {
		return nil
	}
	s, err := sb.Signals(ctx, u)
	if err != nil {
		h.opts.Logger.WarnContext(ctx, "passkeys: reading the signal data failed", "cause", redactSecrets(err.Error()))
		return nil
	}
	return &s
}
