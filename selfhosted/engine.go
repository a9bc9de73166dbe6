// Package selfhosted is the self-hosted passkey engine: a
// [passkeys.Backend] that runs the WebAuthn ceremonies itself, on
// go-webauthn, and keeps users, passkeys, pending ceremonies and one-time
// codes in a [Store] (memstore for tests, sqlitestore as the embedded
// default, pgstore for several instances on one PostgreSQL database).
//
// What stays on the server: each ceremony's go-webauthn session data,
// stored whole under its challenge and taken exactly once by the finish
// that presents that challenge in its clientDataJSON; one-time codes, as
// keyed hashes only; the credential records with their signature counters.
//
// # Bring your own users
//
// A host that already has users and sessions keeps them: it sets
// passkeys.Options.SessionIssuer and SessionVerifier to its own session
// system, and its SessionVerifier returns the host's own user ID and
// email. Such a user can add passkeys although the engine has never seen
// them: the first passkey/append/start of a user the Store does not hold
// creates the engine's record of them, with the host's user ID as its ID,
// the host's email in the canonical form the handler gives every address
// as its email and WebAuthn user name, and a fresh random 32-byte WebAuthn
// user handle. Concurrent first appends create one record. Every later
// passkey login, by button or by autofill, returns the host's user ID and
// that email, and the host's SessionIssuer issues the session.
//
// The rules of the record made on first need:
//   - The host's email must be a valid address; a user without one gets
//     500 internal, logged, since it is the host's error.
//   - When the email already belongs to another user of the engine (one
//     that signed up by code, say), the append is refused with 409
//     account_conflict and nothing is created: the engine never merges two
//     accounts. The host resolves it, for example by deleting or moving
//     the other account.
//   - An ID of the form the engine gives its own accounts ("usr_" and 22
//     base64url characters) is never created on demand, so that an account
//     the engine made and deleted stays deleted while an old token of it
//     is presented; host IDs of exactly that form are not supported.
//   - The record keeps the email it was created with. A host that changes
//     a user's email itself moves the record too, through
//     [Engine.StartEmailChange] and [Engine.FinishEmailChange] (POST
//     account/email) or [AccountStore.UpdateUserEmail]; until then a
//     login by button is started with the old address and logins return
//     it.
package selfhosted

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/hints"
	"github.com/passkeyready/passkeys/internal/nativeapp"
	"github.com/passkeyready/passkeys/internal/weborigin"
)

// Config configures an [Engine]. Fields marked required have no default.
//
// The engine serves the users it creates itself, by code sign-up, and
// equally the users of a host with its own user accounts and session
// system: see "Bring your own users" in the package documentation.
type Config struct {
	// RPID is the relying party ID: the site's registrable domain or a
	// host name, such as "example.com" or "localhost". Required. Passkeys
	// are bound to it forever; changing it orphans every passkey.
	RPID string
	// RPName is shown by some authenticators. Default RPID.
	RPName string
	// Origins are the exact origins (scheme://host[:port]) the browser
	// pages run on, such as "https://example.com". Required. Each host must
	// be RPID or a subdomain of it; http is accepted only for localhost.
	// Write each as browsers serialise it (lower case, no default port,
	// punycode host): the origin in clientDataJSON is compared with them
	// byte for byte.
	Origins []string
	// AndroidApps are the Android apps that use the passkeys of RPID: for
	// each fingerprint of each app, the origin Android's Credential Manager
	// writes into clientDataJSON ("android:apk-key-hash:" and the unpadded
	// base64url SHA-256 of the signing certificate) is accepted, byte for
	// byte, besides Origins. Package names and fingerprints are checked
	// (see [passkeys.AndroidApp]); [Engine.WellKnown] lists them in
	// assetlinks.json, which the app's OS must find at
	// https://RPID/.well-known/assetlinks.json. Default none.
	AndroidApps []passkeys.AndroidApp
	// AppleAppIDs are the iOS apps ("TEAMID.bundle.id") that use the
	// passkeys of RPID. They only feed the apple-app-site-association
	// document of [Engine.WellKnown]: an iOS app's clientDataJSON carries
	// the web origin https://RPID, which must be in Origins. Default none.
	AppleAppIDs []string
	// RelatedOrigins are web origins on other sites ("https://example.de")
	// whose pages may use the passkeys of RPID (WebAuthn Related Origin
	// Requests): accepted at verification besides Origins, and listed in
	// the /.well-known/webauthn document of [Engine.WellKnown], which the
	// browser fetches from https://RPID before it lets such a page use
	// RPID. Each is written as browsers serialise it, https (http only for
	// localhost), not on RPID (those belong in Origins), and together they
	// name at most five registrable domains (browsers ignore the rest).
	// Default none.
	RelatedOrigins []string

	// Store keeps users, passkeys, ceremonies and codes. Required.
	Store Store
	// OTPSender delivers one-time codes. Required. A sender that is also a
	// [passkeys.OTPMessageSender] (as the mailer package's is) gets the
	// purpose of the code and the client's language, IP and user agent.
	OTPSender passkeys.OTPSender
	// OTPKey keys the hashes under which codes are stored; at least 32
	// bytes. Default: a random key made at start-up, which is fine for one
	// instance but makes codes unusable on other instances and after a
	// restart. Several instances sharing a database must share the key.
	OTPKey []byte

	// UserVerification is the WebAuthn user-verification requirement.
	// Default "required": a passkey is the only factor at login, so the
	// authenticator must check its user (PIN, biometrics). "preferred"
	// accepts responses without the UV flag.
	UserVerification protocol.UserVerificationRequirement
	// ConditionalCreateUserVerification is the user-verification
	// requirement of a conditional create (passkey/append/start with
	// "mediation":"conditional", the automatic passkey upgrade) and of it
	// only: its options carry it and its finish holds the response to it.
	// Default: UserVerification. WebAuthn L3 (§5.1.3) has the browser
	// either verify the user or fail with a ConstraintError when a
	// conditional create requires it, so "required" loses nothing with a
	// browser that follows the spec; some password managers create the
	// passkey without verifying and return the UV flag clear, which
	// "required" refuses (the passkey then stays on the device, unknown
	// here). "preferred" accepts those. It relaxes nothing else: the
	// session that asks for the create proves the user, every other
	// ceremony (plain append, button and autofill login) keeps
	// UserVerification, so a passkey made without verification still has
	// to verify the user at each login.
	ConditionalCreateUserVerification protocol.UserVerificationRequirement
	// Attestation is the attestation conveyance preference. Default "none".
	Attestation protocol.ConveyancePreference

	// AppendHints and LoginHints are the WebAuthn user-agent hints
	// (passkeys.HintSecurityKey, HintClientDevice, HintHybrid; most
	// preferred first, none twice) the options of a passkey append and of
	// a button login carry in publicKey.hints when the start request asks
	// for none; a request's own "hints" replace them. They only lead the
	// browser's dialog: nothing is checked against them at finish. With
	// append hints, go-webauthn also sets the authenticatorAttachment the
	// first hint implies (platform for client-device, cross-platform for
	// the others), for browsers that predate hints. Neither applies to
	// autofill or to a conditional create, which show no dialog. Default
	// none.
	AppendHints []string
	LoginHints  []string

	// CeremonyTimeout is how long a started ceremony may be finished.
	// Default 5 minutes.
	CeremonyTimeout time.Duration
	// OTPValidity is how long a code stays usable. Default 10 minutes.
	OTPValidity time.Duration
	// OTPCooldown is how long after sending a code a new request sends
	// nothing and keeps the code already sent. Default 30 seconds.
	OTPCooldown time.Duration
	// OTPMaxAttempts is how many checks a code survives; the last wrong one
	// kills it. Default 5.
	OTPMaxAttempts int

	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
}

// Engine is the self-hosted [passkeys.Backend]. Create it with [New]. An
// Engine is safe for concurrent use, and several engines (one per
// instance) may share one Store; what must happen once, such as taking a
// ceremony or using a code, the Store makes atomic.
type Engine struct {
	cfg     Config
	wa      *webauthn.WebAuthn
	origins originSet
}

var _ passkeys.Backend = (*Engine)(nil)

// New validates c, fills in defaults and returns the engine. Errors name
// the offending Config field.
func New(c Config) (*Engine, error) {
	if err := validateRP(c.RPID, c.Origins); err != nil {
		return nil, err
	}
	origins, err := newOriginSet(c.Origins)
	if err != nil {
		return nil, err
	}
	appOrigins, err := origins.addApps(c.AndroidApps)
	if err != nil {
		return nil, err
	}
	if err := nativeapp.CheckAppleAppIDs("selfhosted: Config.AppleAppIDs", c.AppleAppIDs); err != nil {
		return nil, err
	}
	if err := origins.addRelated(c.RPID, c.Origins, c.RelatedOrigins); err != nil {
		return nil, err
	}
	if len(appOrigins) > 0 {
		// go-webauthn then holds every web origin to what a
		// /.well-known/webauthn document can declare (at most five
		// registrable domains); say so in terms of this Config.
		if _, err := protocol.NewRelatedOrigins(append(append([]string(nil), c.Origins...), c.RelatedOrigins...)...); err != nil {
			return nil, fmt.Errorf("selfhosted: with Config.AndroidApps set, Config.Origins and Config.RelatedOrigins together must name at most five registrable domains: %w", err)
		}
	}
	switch {
	case c.Store == nil:
		return nil, errors.New("selfhosted: Config.Store is required")
	case c.OTPSender == nil:
		return nil, errors.New("selfhosted: Config.OTPSender is required")
	case c.OTPKey != nil && len(c.OTPKey) < 32:
		return nil, fmt.Errorf("selfhosted: Config.OTPKey must be at least 32 bytes, got %d", len(c.OTPKey))
	}
	if c.OTPKey == nil {
		c.OTPKey = make([]byte, 32)
		if _, err := rand.Read(c.OTPKey); err != nil {
			return nil, err
		}
	}
	if c.RPName == "" {
		c.RPName = c.RPID
	}
	switch c.UserVerification {
	case "":
		c.UserVerification = protocol.VerificationRequired
	case protocol.VerificationRequired, protocol.VerificationPreferred, protocol.VerificationDiscouraged:
	default:
		return nil, fmt.Errorf("selfhosted: Config.UserVerification %q is not required, preferred or discouraged", c.UserVerification)
	}
	switch c.ConditionalCreateUserVerification {
	case "":
		c.ConditionalCreateUserVerification = c.UserVerification
	case protocol.VerificationRequired, protocol.VerificationPreferred, protocol.VerificationDiscouraged:
	default:
		return nil, fmt.Errorf("selfhosted: Config.ConditionalCreateUserVerification %q is not required, preferred or discouraged", c.ConditionalCreateUserVerification)
	}
	for _, f := range []struct {
		name  string
		hints []string
	}{{"AppendHints", c.AppendHints}, {"LoginHints", c.LoginHints}} {
		if f.hints == nil {
			continue
		}
		if err := hints.Check(f.hints); err != nil {
			return nil, fmt.Errorf("selfhosted: Config.%s %s (leave it nil for none)", f.name, err)
		}
	}
	c.AppendHints = append([]string(nil), c.AppendHints...)
	c.LoginHints = append([]string(nil), c.LoginHints...)
	switch c.Attestation {
	case "":
		c.Attestation = protocol.PreferNoAttestation
	case protocol.PreferNoAttestation, protocol.PreferIndirectAttestation, protocol.PreferDirectAttestation, protocol.PreferEnterpriseAttestation:
	default:
		return nil, fmt.Errorf("selfhosted: Config.Attestation %q is not none, indirect, direct or enterprise", c.Attestation)
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"CeremonyTimeout", &c.CeremonyTimeout, 5 * time.Minute},
		{"OTPValidity", &c.OTPValidity, 10 * time.Minute},
		{"OTPCooldown", &c.OTPCooldown, 30 * time.Second},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < 0 {
			return nil, fmt.Errorf("selfhosted: Config.%s must be positive", d.name)
		}
	}
	if c.OTPMaxAttempts == 0 {
		c.OTPMaxAttempts = 5
	}
	if c.OTPMaxAttempts < 0 {
		return nil, errors.New("selfhosted: Config.OTPMaxAttempts must be positive")
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	rk := true
	timeout := webauthn.TimeoutConfig{Timeout: c.CeremonyTimeout, TimeoutUVD: c.CeremonyTimeout}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  c.RPID,
		RPDisplayName:         c.RPName,
		RPOrigins:             append(append([]string(nil), c.Origins...), c.RelatedOrigins...),
		RPOpaqueOrigins:       appOrigins,
		AttestationPreference: c.Attestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			RequireResidentKey: &rk,
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			UserVerification:   c.UserVerification,
		},
		// Expiry is enforced by the ceremony store with Config.Clock.
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("selfhosted: %w", err)
	}
	return &Engine{cfg: c, wa: wa, origins: origins}, nil
}

// WellKnown returns the options of the well-known documents that go with
// this engine's Config: its AndroidApps, AppleAppIDs and RelatedOrigins,
// for [passkeys.WellKnown]. Serve that handler at the root of RPID's host.
func (e *Engine) WellKnown() passkeys.WellKnownOptions {
	apps := make([]passkeys.AndroidApp, len(e.cfg.AndroidApps))
	for i, a := range e.cfg.AndroidApps {
		apps[i] = passkeys.AndroidApp{PackageName: a.PackageName, Fingerprints: append([]string(nil), a.Fingerprints...)}
	}
	return passkeys.WellKnownOptions{
		AndroidApps:    apps,
		AppleAppIDs:    append([]string(nil), e.cfg.AppleAppIDs...),
		RelatedOrigins: append([]string(nil), e.cfg.RelatedOrigins...),
	}
}

// validateRP checks what browsers will check, so that a misconfiguration
// fails at start-up instead of at the first ceremony.
func validateRP(rpID string, origins []string) error {
	if rpID == "" {
		return errors.New("selfhosted: Config.RPID is required (the site's domain, e.g. example.com)")
	}
	if strings.ContainsAny(rpID, ":/ ") || rpID != strings.ToLower(rpID) {
		return fmt.Errorf("selfhosted: Config.RPID %q must be a lower-case host name without scheme or port", rpID)
	}
	if len(origins) == 0 {
		return errors.New("selfhosted: Config.Origins is required (e.g. https://example.com)")
	}
	for _, o := range origins {
		if strings.HasPrefix(o, nativeapp.AndroidOriginPrefix) {
			return fmt.Errorf("selfhosted: Config.Origins entry %q is an Android app's origin: list the app in Config.AndroidApps (package name and signing-certificate fingerprint) instead", o)
		}
		// The form first, so that "https://Example.com" is told it must be
		// lower-case rather than that it is not on RPID.
		if err := weborigin.Check(o); err != nil {
			return fmt.Errorf("selfhosted: Config.Origins entry %q %s", o, err)
		}
		u, err := url.Parse(o)
		if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("selfhosted: Config.Origins entry %q must be scheme://host[:port] with nothing after it", o)
		}
		host := u.Hostname()
		if host != rpID && !strings.HasSuffix(host, "."+rpID) {
			return fmt.Errorf("selfhosted: Config.Origins entry %q is not on RPID %q or a subdomain of it", o, rpID)
		}
		switch {
		case u.Scheme == "https":
		case u.Scheme == "http" && (host == "localhost" || strings.HasSuffix(host, ".localhost")):
		default:
			return fmt.Errorf("selfhosted: Config.Origins entry %q must use https (http only for localhost)", o)
		}
	}
	return nil
}

// now is the engine's clock at microsecond precision, the precision every
// store keeps.
func (e *Engine) now() time.Time { return e.cfg.Clock().UTC().Truncate(time.Microsecond) }

// randomBytes returns n bytes from crypto/rand.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("selfhosted: crypto/rand failed: " + err.Error()) // never returns an error on supported platforms
	}
	return b
}

// b64 encodes credential IDs and user IDs: unpadded base64url, as
// WebAuthn does.
var b64 = base64.RawURLEncoding

// verificationFailed is the error of a response that does not verify;
// err, the cause, is logged and never sent.
func verificationFailed(err error) error {
	return passkeys.ErrVerificationFailed.With("", err)
}

// hintsFor returns the hints of a start: the request's, or else the
// configured ones, as go-webauthn takes them; nil for none.
func hintsFor(asked, configured []string) []protocol.PublicKeyCredentialHints {
	if asked == nil {
		asked = configured
	}
	if len(asked) == 0 {
		return nil
	}
	out := make([]protocol.PublicKeyCredentialHints, len(asked))
	for i, h := range asked {
		out[i] = protocol.PublicKeyCredentialHints(h)
	}
	return out
}
