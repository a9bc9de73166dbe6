package passkeys

import (
	"context"
	"encoding/json"
	"time"

	"github.com/passkeyready/passkeys/internal/hints"
)

// User is the account a session belongs to. ID is stable and opaque; Email is
// in the canonical form of the handler's email policy (trimmed, NFC, lower
// case, the domain in its ASCII IDNA form; see internal/mailaddr).
type User struct {
	ID    string `json:"id"`
	Email string `json:"email"`
}

// Passkey describes one registered credential of a user, as listed by
// GET /passkeys. ID is the credential ID in unpadded base64url, the same value
// the browser reports as PublicKeyCredential.id.
type Passkey struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"createdAt"`
	LastUsedAt     *time.Time `json:"lastUsedAt"`
	BackupEligible bool       `json:"backupEligible"`
	BackedUp       bool       `json:"backedUp"`
	Transports     []string   `json:"transports"`
	AAGUID         string     `json:"aaguid,omitempty"`
	// Provider names the password manager or authenticator that holds the
	// passkey, when its AAGUID is known (nil and omitted otherwise).
	Provider *Provider `json:"provider,omitempty"`
}

// Provider names a passkey provider ("Google Password Manager", "iCloud
// Keychain") with its icons for light and dark backgrounds. The self-hosted
// engine takes them from the community AAGUID list embedded in this module
// (github.com/passkeydeveloper/passkey-authenticator-aaguids), the Corbado
// backend from Corbado's aaguidDetails. Icons are data URIs of an SVG or
// PNG image, or empty; their content is untrusted: show them with
// <img src>, never insert them as markup.
type Provider struct {
	Name      string `json:"name"`
	IconLight string `json:"iconLight,omitempty"`
	IconDark  string `json:"iconDark,omitempty"`
}

// Client describes the HTTP client behind a request, for backends that record
// or score it. RemoteAddr is the client IP after the trusted-proxy rule of
// [Options.TrustedProxies] has been applied.
type Client struct {
	RemoteAddr string
	UserAgent  string
	// AcceptLanguage is the request's Accept-Language header as sent (its
	// values joined by commas, at most 512 bytes, cut at a comma), so that
	// a backend or an email sender can answer in the client's language.
	AcceptLanguage string
	// Capabilities holds the optional capability flags a browser may send
	// (for example from PublicKeyCredential.getClientCapabilities()).
	Capabilities map[string]bool
	// Hints are the WebAuthn user-agent hints a passkey/append/start or
	// passkey/login/start request asked for, most preferred first: one to
	// three of [HintSecurityKey], [HintClientDevice] and [HintHybrid],
	// none twice (the handler refuses anything else). Nil when the
	// request named none; the backend then uses its defaults. A backend
	// puts them in the hints member of the options' publicKey, in this
	// order; the handler never sets them for autofill or a conditional
	// create.
	Hints []string
}

// The WebAuthn user-agent hints (WebAuthn L3 §5.8.7) a start request may
// ask for in its "hints" member, and [Client.Hints] holds. They tell the
// browser how the relying party believes the user will answer, so that it
// leads with that way; they are advice to the browser, never checked at
// finish.
const (
	// HintSecurityKey: a physical security key.
	HintSecurityKey = hints.SecurityKey
	// HintClientDevice: the platform authenticator of the device in use.
	HintClientDevice = hints.ClientDevice
	// HintHybrid: a phone or other general-purpose authenticator, reached
	// by QR code (hybrid transport); the local platform authenticator is
	// not promoted.
	HintHybrid = hints.Hybrid
)

// OTPStart is the outcome of [Backend.StartOTP].
type OTPStart struct {
	// ExpiresIn is how long the code that was sent (or the one sent
	// moments ago and still valid) stays usable.
	ExpiresIn time.Duration
}

// AppendStart is the outcome of [Backend.StartAppend].
type AppendStart struct {
	// Allow reports whether the user may add a passkey now. When false,
	// Options is nil.
	Allow bool
	// Options is the CredentialCreationOptions JSON object
	// ({"publicKey":{...}}), as PublicKeyCredential.parseCreationOptionsFromJSON
	// takes its publicKey member.
	Options json.RawMessage
}

// LoginStart is the outcome of [Backend.StartLogin] and [Backend.StartMediation].
type LoginStart struct {
	// Allow reports whether a passkey login can be attempted. When false,
	// Options is nil and the client falls back to an OTP.
	Allow bool
	// Options is the CredentialRequestOptions JSON object
	// ({"publicKey":{...},"mediation":...}).
	Options json.RawMessage
}

// Backend performs the passkey and OTP ceremonies behind the HTTP handlers.
// Two implementations ship with this module: the self-hosted engine in
// package selfhosted and the Corbado Backend API client built by [NewCorbado].
//
// Methods return an [*Error] (usually wrapping one of the Err* sentinels of
// this package) for every outcome a client should see; any other error is
// reported to the client as 500 "internal" and logged.
//
// Responses passed to the Finish methods are the JSON the browser produced
// with PublicKeyCredential.toJSON(); they have been checked to be a JSON
// object and nothing more.
//
// Implementations must be safe for concurrent use: the handler calls every
// method from every request goroutine at once, for the same user or email
// too (two tabs, a double click, an attacker racing a code check), and a
// ceremony may be finished by another goroutine, or another instance,
// than the one that started it. Both shipped backends are.
type Backend interface {
	// StartOTP sends a one-time code to email, whether or not an account
	// exists for it. email is already in canonical form (see [User]).
	StartOTP(ctx context.Context, email string, c Client) (OTPStart, error)
	// FinishOTP checks code for email. On success it returns the user,
	// creating the account first when none exists (created is then true).
	// A wrong, used or expired code is [ErrOTPInvalid].
	FinishOTP(ctx context.Context, email, code string, c Client) (u User, created bool, err error)

	// StartAppend begins adding a passkey to u's account.
	StartAppend(ctx context.Context, u User, c Client) (AppendStart, error)
	// FinishAppend verifies the attestation response of a ceremony that u
	// started and stores the new passkey. A response that fails
	// verification, or belongs to another user's ceremony, is
	// [ErrVerificationFailed], with an [Error.Reason] when a category
	// applies (see [Error.WithReason]).
	FinishAppend(ctx context.Context, u User, response json.RawMessage, c Client) (Passkey, error)

	// StartLogin begins a passkey login for the account with this email,
	// offering only that account's passkeys. Unknown emails and accounts
	// without passkeys give Allow false, not an error.
	StartLogin(ctx context.Context, email string, c Client) (LoginStart, error)
	// FinishLogin verifies an assertion for a ceremony begun by StartLogin.
	FinishLogin(ctx context.Context, response json.RawMessage, c Client) (User, error)

	// StartMediation begins a conditional-UI (autofill) login with no
	// allowCredentials.
	StartMediation(ctx context.Context, c Client) (LoginStart, error)
	// FinishMediation verifies an assertion for a ceremony begun by
	// StartMediation.
	FinishMediation(ctx context.Context, response json.RawMessage, c Client) (User, error)

	// ListPasskeys returns u's passkeys, oldest first.
	ListPasskeys(ctx context.Context, u User) ([]Passkey, error)
	// DeletePasskey removes u's passkey with this ID (unpadded base64url).
	// A passkey that does not exist or belongs to another user is
	// [ErrNotFound].
	DeletePasskey(ctx context.Context, u User, id string) error
}

// ConditionalAppender is an optional capability of a [Backend]: the
// automatic passkey upgrade, a passkey created by conditional mediation
// (navigator.credentials.create({mediation:"conditional"})) that the
// password manager may make without asking, right after a sign-in by
// code. passkey/append/start with {"mediation":"conditional"} calls it; a
// Backend without it answers [ErrNotSupported].
//
// The options are those of StartAppend with "mediation":"conditional"
// beside publicKey. The Backend records with the ceremony, on the server,
// that it is conditional: [Backend.FinishAppend] of that ceremony, and of
// no other, accepts a response whose authenticator data has the user
// presence flag clear; everything else is verified as for StartAppend
// (the self-hosted engine may hold its user verification flag to a
// setting of its own, selfhosted.Config.ConditionalCreateUserVerification).
// The self-hosted engine has it; the Corbado backend does not (Corbado's
// append start has no mediation setting).
//
// Implementations must be safe for concurrent use.
type ConditionalAppender interface {
	StartConditionalAppend(ctx context.Context, u User, c Client) (AppendStart, error)
}

// UserLookup is an optional capability of a [Backend]: reading an account
// by its ID. When the Backend has it, the demo JWT sessions that [New]
// creates ask it on every request that needs a session (the routes that
// hold one and [Handler.RequireSession]), so that a token of an account
// deleted or disabled since sign-in gets 401 at once and the user's email
// is the account's, not the token's. A SessionVerifier of your own is
// left alone. Both backends of this module have it.
//
// Implementations must be safe for concurrent use.
type UserLookup interface {
	// LookupUser returns the account with this ID as it is now. An
	// account that does not exist, or may not sign in, is an error
	// wrapping [ErrUnauthorized] (or [ErrNotFound]); a store or service
	// that cannot be reached wraps [ErrUnavailable].
	LookupUser(ctx context.Context, id string) (User, error)
}
