package passkeys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

// CorbadoOptions configures the Corbado backend built by [NewCorbado].
// ProjectID and APISecret are required; every other field has a default.
type CorbadoOptions struct {
	// ProjectID is the Corbado project ID: "pro-" followed by digits.
	// Required.
	ProjectID string
	// APISecret is the project's Backend API secret, "corbado1_...".
	// Required. It is sent only as the Basic password and never appears
	// in an error or a log line.
	APISecret string
	// BaseURL is the Backend API's address; the operations live under its
	// /v2 path (a trailing /v2 is accepted too). It must be an absolute
	// https URL without query or fragment; http is accepted only for
	// loopback hosts, such as an emulator on 127.0.0.1. Default
	// https://backendapi.cloud.corbado.io.
	BaseURL string
	// HTTPClient sends the API requests. Default: a client of its own
	// that does not follow redirects.
	HTTPClient *http.Client
	// Timeout bounds each API call, retries of GETs included. Default 10
	// seconds.
	Timeout time.Duration

	// Ceremonies keeps, per pending ceremony, the process and user it
	// belongs to, and per email the one-time code in flight and its resend
	// cooldown. Default: NewMemoryKeeper(0), in this process's memory and so
	// per instance. Several instances share it through selfhosted.Keeper on
	// their common database.
	Ceremonies CeremonyKeeper

	// OTPValidity is how long a one-time code stays usable; it is sent to
	// Corbado as the challenge's lifetime. Default 10 minutes.
	OTPValidity time.Duration
	// OTPCooldown is how long after sending a code a new request sends
	// nothing and keeps the code already sent; it ends early once that code
	// is used up. Default 30 seconds.
	OTPCooldown time.Duration

	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Logger receives configuration problems, such as Corbado rejecting
	// the credentials. Default slog.Default().
	Logger *slog.Logger
}

// Corbado is the [Backend] on Corbado's Backend API v2: Corbado keeps the
// users, their email identifiers and passkeys, sends the one-time codes and
// verifies every WebAuthn response. Create it with [NewCorbado].
//
// Users are Corbado users with an email login identifier. Signing up
// creates the user with status "pending" and the identifier with status
// "pending"; the first correct one-time code makes the identifier
// "verified" and the user "active", and only that first confirmation
// reports a new user.
type Corbado struct {
	api        *corbadoapi.Client
	keeper     CeremonyKeeper
	clock      func() time.Time
	logger     *slog.Logger
	validity   time.Duration
	cooldown   time.Duration
	authFailed sync.Once
}

var _ Backend = (*Corbado)(nil)

const (
	// corbadoCeremonyTimeout is how long a started ceremony may be finished.
	corbadoCeremonyTimeout = 5 * time.Minute
	// corbadoOTPAttempts is how many checks a code survives.
	corbadoOTPAttempts = 5
	// corbadoKeeperLimit bounds the default in-memory keeper.
	corbadoKeeperLimit = 100_000
)

var corbadoProjectID = regexp.MustCompile(`^pro-[0-9]+$`)

// NewCorbado validates o, fills in defaults and returns the backend.
// Errors name the offending field and never hold the secret.
func NewCorbado(o CorbadoOptions) (*Corbado, error) {
	switch {
	case o.ProjectID == "":
		return nil, errors.New("passkeys: CorbadoOptions.ProjectID is required")
	case !corbadoProjectID.MatchString(o.ProjectID):
		return nil, errors.New(`passkeys: CorbadoOptions.ProjectID must be "pro-" followed by digits`)
	case o.APISecret == "":
		return nil, errors.New("passkeys: CorbadoOptions.APISecret is required")
	case !strings.HasPrefix(o.APISecret, "corbado1_") || len(o.APISecret) == len("corbado1_"):
		return nil, errors.New(`passkeys: CorbadoOptions.APISecret must be a Backend API secret starting with "corbado1_"`)
	}
	base, err := corbadoBaseURL(o.BaseURL)
	if err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"Timeout", &o.Timeout, 10 * time.Second},
		{"OTPValidity", &o.OTPValidity, 10 * time.Minute},
		{"OTPCooldown", &o.OTPCooldown, 30 * time.Second},
	} {
		if *d.v == 0 {
			*d.v = d.def
		}
		if *d.v < 0 {
			return nil, fmt.Errorf("passkeys: CorbadoOptions.%s must be positive", d.name)
		}
	}
	if o.OTPValidity < time.Second {
		return nil, errors.New("passkeys: CorbadoOptions.OTPValidity must be at least one second")
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Ceremonies == nil {
		o.Ceremonies = NewMemoryKeeper(0)
	}
	api := corbadoapi.New(corbadoapi.Config{
		BaseURL: base, ProjectID: o.ProjectID, APISecret: o.APISecret,
		HTTPClient: o.HTTPClient, Timeout: o.Timeout, UserAgent: userAgent(),
	})
	return &Corbado{
		api: api, keeper: o.Ceremonies, clock: o.Clock, logger: o.Logger,
		validity: o.OTPValidity, cooldown: o.OTPCooldown,
	}, nil
}

// corbadoBaseURL checks a BaseURL and returns it without a trailing
// slash or /v2.
func corbadoBaseURL(s string) (string, error) {
	if s == "" {
		return corbadoapi.DefaultBaseURL, nil
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", errors.New("passkeys: CorbadoOptions.BaseURL must be an absolute http(s) URL without user info, query or fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return "", errors.New("passkeys: CorbadoOptions.BaseURL must use https (http only for loopback hosts)")
		}
	default:
		return "", errors.New("passkeys: CorbadoOptions.BaseURL must use https (http only for loopback hosts)")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/v2")
	u.RawPath = ""
	return u.String(), nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// userAgent names the library and, when it is a dependency of the
// program, its module version.
func userAgent() string {
	v := "devel"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range append([]*debug.Module{&bi.Main}, bi.Deps...) {
			if m.Path == "github.com/passkeyready/passkeys" && m.Version != "" && m.Version != "(devel)" {
				v = m.Version
			}
		}
	}
	return "passkeys-go/" + v
}

func (c *Corbado) now() time.Time { return c.clock().UTC() }

// upstream turns a failed API call into the error a client sees: 504 for
// a timeout, 502 for anything else. A 401 means the project ID and
// secret are wrong; that is logged once.
func (c *Corbado) upstream(err error) error {
	if corbadoapi.IsTimeout(err) {
		return ErrUpstreamTimeout.With("", err)
	}
	var ae *corbadoapi.Error
	if errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized {
		c.authFailed.Do(func() {
			c.logger.Error("passkeys: Corbado rejected the project ID and API secret (HTTP 401); check CorbadoOptions.ProjectID and APISecret",
				"op", ae.Op)
		})
	}
	return ErrUpstream.With("", err)
}

// refused reports whether err is Corbado refusing the request itself (a
// 4xx other than authentication, rate limiting or a timeout), as opposed
// to Corbado failing to answer.
func refused(err error) bool {
	var ae *corbadoapi.Error
	if !errors.As(err, &ae) || ae.StatusCode < 400 || ae.StatusCode > 499 {
		return false
	}
	switch ae.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return true
}

// finishFailed maps the error of a finish call: Corbado refusing the
// response is a verification failure.
func (c *Corbado) finishFailed(err error) error {
	if refused(err) {
		return ErrVerificationFailed.With("", err)
	}
	return c.upstream(err)
}

// add keeps v as JSON under key unless a live entry is kept there.
func (c *Corbado) add(ctx context.Context, key string, v any, expires time.Time) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.keeper.Add(ctx, key, b, c.now(), expires)
}

// take takes the JSON kept under key into v. It reports false when
// nothing is kept.
func (c *Corbado) take(ctx context.Context, key string, v any) (bool, error) {
	b, err := c.keeper.Take(ctx, key, c.now())
	if errors.Is(err, ErrKeeperMiss) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decoding kept state: %w", err)
	}
	return true, nil
}

// otpState is the one-time code in flight for an email.
type otpState struct {
	UserID           string    `json:"u"`
	IdentifierID     string    `json:"i"`
	IdentifierStatus string    `json:"is"`
	ChallengeID      string    `json:"c"`
	SentAt           time.Time `json:"s"`
	ExpiresAt        time.Time `json:"x"`
	Attempts         int       `json:"a"`
}

// otpKeys are the keeper keys of an email's code in flight and of its
// resend cooldown; they hold a hash, not the address.
func otpKeys(email string) (code, cooldown string) {
	h := sha256.Sum256([]byte(email))
	x := hex.EncodeToString(h[:])
	return "corbado-otp:" + x, "corbado-otp-cooldown:" + x
}

// StartOTP implements [Backend]. It finds the user by their email
// identifier, creating both when absent, and has Corbado email a code.
//
// A request claims the email's cooldown first and sends only when it got
// the claim, so that of concurrent requests one sends; within the cooldown
// nothing is sent and the code already sent stays valid. So does it when
// sending a new one fails, and the claim is given up again then. The
// cooldown ends early when the code is used up: confirmed, checked too
// often, or lost in a check Corbado did not answer.
func (c *Corbado) StartOTP(ctx context.Context, email string, cl Client) (OTPStart, error) {
	res := OTPStart{ExpiresIn: c.validity}
	key, cooldown := otpKeys(email)
	now := c.now()
	err := c.keeper.Add(ctx, cooldown, []byte{}, now, now.Add(c.cooldown))
	if errors.Is(err, ErrKeeperExists) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	next, err := c.sendOTP(ctx, email, cl)
	if err == nil {
		err = c.storeOTP(ctx, key, next)
	}
	if err != nil {
		c.endCooldown(ctx, cooldown)
	}
	return res, err
}

// storeOTP makes st the code in flight under key, in place of an older
// one. A code sent later by an overlapping request is kept instead, and
// so is anything a check puts back meanwhile.
func (c *Corbado) storeOTP(ctx context.Context, key string, st otpState) error {
	const tries = 3
	for range tries {
		var old otpState
		found, err := c.take(ctx, key, &old)
		if err != nil {
			return err
		}
		if found && old.SentAt.After(st.SentAt) {
			st = old
		}
		if err := c.add(ctx, key, st, st.ExpiresAt); !errors.Is(err, ErrKeeperExists) {
			return err
		}
	}
	return fmt.Errorf("the code in flight changed %d times while a new one was stored", tries)
}

// endCooldown lets the next request for the email send a code at once.
func (c *Corbado) endCooldown(ctx context.Context, cooldown string) {
	_, err := c.keeper.Take(context.WithoutCancel(ctx), cooldown, c.now())
	if err != nil && !errors.Is(err, ErrKeeperMiss) {
		c.logger.Warn("passkeys: could not end a one-time-code cooldown", "cause", err.Error())
	}
}

// sendOTP has Corbado email a new code to email.
func (c *Corbado) sendOTP(ctx context.Context, email string, cl Client) (otpState, error) {
	id, err := c.identifier(ctx, email)
	if err != nil {
		return otpState{}, err
	}
	ch, err := c.api.ChallengeCreate(ctx, id.UserID, corbadoapi.ChallengeCreateReq{
		ChallengeType: "email_otp", IdentifierValue: email,
		LifetimeSeconds: int(c.validity / time.Second), ClientInformation: clientInformation(cl, nil),
	})
	if err != nil {
		return otpState{}, c.upstream(err)
	}
	now := c.now()
	return otpState{
		UserID: id.UserID, IdentifierID: id.IdentifierID, IdentifierStatus: id.Status,
		ChallengeID: ch.ChallengeID, SentAt: now, ExpiresAt: now.Add(c.validity),
	}, nil
}

// identifier returns the email identifier of email, creating a pending
// user with a pending identifier when there is none. A user whose
// identifier could not be created is deleted again, so that no user is
// left that nobody can find; when the identifier was refused because a
// concurrent request created it, that one is used.
func (c *Corbado) identifier(ctx context.Context, email string) (corbadoapi.Identifier, error) {
	if id, ok, err := c.findIdentifier(ctx, email); ok || err != nil {
		return id, err
	}
	u, err := c.api.UserCreate(ctx, corbadoapi.UserCreateReq{Status: corbadoapi.UserPending})
	if err != nil {
		return corbadoapi.Identifier{}, c.upstream(err)
	}
	id, err := c.api.IdentifierCreate(ctx, u.UserID, corbadoapi.IdentifierCreateReq{
		IdentifierType: "email", IdentifierValue: email, Status: corbadoapi.IdentifierPending,
	})
	if err == nil {
		return id, nil
	}
	if derr := c.api.UserDelete(context.WithoutCancel(ctx), u.UserID); derr != nil {
		c.logger.Warn("passkeys: could not delete a Corbado user left without an identifier", "user_id", u.UserID, "cause", derr.Error())
	}
	if refused(err) {
		// Another request may have created the identifier meanwhile.
		if other, ok, ferr := c.findIdentifier(ctx, email); ferr == nil && ok {
			return other, nil
		}
	}
	return id, c.upstream(err)
}

// findIdentifier looks up the email identifier of email.
func (c *Corbado) findIdentifier(ctx context.Context, email string) (corbadoapi.Identifier, bool, error) {
	l, err := c.api.IdentifierList(ctx, corbadoapi.ListParams{
		Filter:   []string{"identifierValue:eq:" + email, "identifierType:eq:email"},
		PageSize: 1,
	})
	if err != nil {
		return corbadoapi.Identifier{}, false, c.upstream(err)
	}
	for _, id := range l.Identifiers {
		if id.Type == "email" && strings.EqualFold(id.Value, email) && id.UserID != "" && id.IdentifierID != "" {
			return id, true, nil
		}
	}
	return corbadoapi.Identifier{}, false, nil
}

// FinishOTP implements [Backend]. Corbado checks the code; this side
// also allows at most five checks per code. The first correct code of a
// new account verifies its identifier and activates the user.
//
// The code is taken out of the keeper for the check and put back after a
// failed one only if no newer code took its place meanwhile. When Corbado
// does not answer the check, it may still have applied it, so the code is
// put back for a retry and the cooldown ends, letting the next request
// send a new one.
func (c *Corbado) FinishOTP(ctx context.Context, email, code string, cl Client) (User, bool, error) {
	key, cooldown := otpKeys(email)
	var st otpState
	found, err := c.take(ctx, key, &st)
	if err != nil {
		return User{}, false, err
	}
	if !found {
		return User{}, false, ErrOTPInvalid.With("", errors.New("no code in flight for this email"))
	}
	ch, err := c.api.ChallengeUpdate(ctx, st.UserID, st.ChallengeID, corbadoapi.ChallengeUpdateReq{Value: code})
	if err == nil && ch.Status == corbadoapi.ChallengeCompleted {
		c.endCooldown(ctx, cooldown)
		created, err := c.confirm(ctx, st)
		if err != nil {
			return User{}, false, err
		}
		return User{ID: st.UserID, Email: email}, created, nil
	}
	st.Attempts++
	unanswered := err != nil && !refused(err)
	spent := st.Attempts >= corbadoOTPAttempts
	if !spent {
		if err := c.add(ctx, key, st, st.ExpiresAt); err != nil && !errors.Is(err, ErrKeeperExists) {
			return User{}, false, err
		}
	}
	if spent || unanswered {
		c.endCooldown(ctx, cooldown)
	}
	if unanswered {
		return User{}, false, c.upstream(err)
	}
	if err == nil {
		err = fmt.Errorf("challenge status %q after the check", ch.Status)
	}
	return User{}, false, ErrOTPInvalid.With("", fmt.Errorf("attempt %d: %w", st.Attempts, err))
}

// activeUser refuses a user that Corbado does not list as active, so
// that a disabled account gets neither a session nor a new passkey.
func (c *Corbado) activeUser(ctx context.Context, userID string) error {
	u, err := c.api.UserGet(ctx, userID)
	var ae *corbadoapi.Error
	if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
		return ErrUnauthorized.With("The account no longer exists.", err)
	}
	if err != nil {
		return c.upstream(err)
	}
	if u.Status != corbadoapi.UserActive {
		return ErrUnauthorized.With("This account is disabled.", fmt.Errorf("corbado user status %q", u.Status))
	}
	return nil
}

// confirm activates a pending user after their first correct code and
// reports whether it did.
func (c *Corbado) confirm(ctx context.Context, st otpState) (bool, error) {
	u, err := c.api.UserGet(ctx, st.UserID)
	if err != nil {
		return false, c.upstream(err)
	}
	switch u.Status {
	case corbadoapi.UserActive:
		return false, nil
	case corbadoapi.UserPending:
	default:
		return false, ErrUnauthorized.With("This account is disabled.", fmt.Errorf("corbado user status %q", u.Status))
	}
	if st.IdentifierStatus == corbadoapi.IdentifierPending {
		if _, err := c.api.IdentifierUpdate(ctx, st.UserID, st.IdentifierID, corbadoapi.IdentifierUpdateReq{Status: corbadoapi.IdentifierVerified}); err != nil {
			return false, c.upstream(err)
		}
	}
	if _, err := c.api.UserUpdate(ctx, st.UserID, corbadoapi.UserUpdateReq{Status: corbadoapi.UserActive}); err != nil {
		return false, c.upstream(err)
	}
	return true, nil
}

// Ceremony kinds kept with each ceremony.
const (
	kindAppend    = "append"
	kindLogin     = "login"
	kindMediation = "mediation"
)

// ceremonyState is what a finish needs from its start.
type ceremonyState struct {
	Kind       string          `json:"k"`
	ProcessID  string          `json:"p"`
	TrackingID string          `json:"t"`
	UserID     string          `json:"u,omitempty"`
	Email      string          `json:"e,omitempty"`
	Caps       map[string]bool `json:"c,omitempty"`
}

func newCeremony(kind, userID, email string, cl Client) ceremonyState {
	return ceremonyState{
		Kind: kind, ProcessID: randomID(), TrackingID: randomID(),
		UserID: userID, Email: email, Caps: cl.Capabilities,
	}
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// ceremonyKey is the keeper key of the ceremony with this challenge.
func ceremonyKey(challenge []byte) string {
	return "corbado-ceremony:" + base64.RawURLEncoding.EncodeToString(challenge)
}

// started keeps st under the challenge of the options Corbado returned
// and returns the options as a JSON object; mediation options are marked
// conditional.
func (c *Corbado) started(ctx context.Context, st ceremonyState, options string) (json.RawMessage, error) {
	var o map[string]json.RawMessage
	var pk struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal([]byte(options), &o); err != nil || o["publicKey"] == nil {
		return nil, ErrUpstream.With("", fmt.Errorf("corbado %s options are not a JSON object with publicKey", st.Kind))
	}
	if err := json.Unmarshal(o["publicKey"], &pk); err != nil {
		return nil, ErrUpstream.With("", fmt.Errorf("corbado %s options: publicKey: %w", st.Kind, err))
	}
	challenge, err := decodeB64(pk.Challenge)
	if err != nil || len(challenge) == 0 {
		return nil, ErrUpstream.With("", fmt.Errorf("corbado %s options carry no challenge", st.Kind))
	}
	if st.Kind == kindMediation {
		o["mediation"] = json.RawMessage(`"conditional"`)
	}
	out, err := json.Marshal(o)
	if err != nil {
		return nil, ErrUpstream.With("", err)
	}
	if err := c.add(ctx, ceremonyKey(challenge), st, c.now().Add(corbadoCeremonyTimeout)); err != nil {
		return nil, err
	}
	return out, nil
}

var errCorbadoCeremony = ErrVerificationFailed.With("The passkey ceremony is unknown, expired or already used; start again.", nil)

// takeCeremony consumes the ceremony named by the challenge inside the
// response's clientDataJSON. A ceremony of another kind is consumed too
// and fails.
func (c *Corbado) takeCeremony(ctx context.Context, response json.RawMessage, kind string) (ceremonyState, error) {
	var st ceremonyState
	var r struct {
		Response struct {
			ClientDataJSON string `json:"clientDataJSON"`
		} `json:"response"`
	}
	var cd struct {
		Challenge string `json:"challenge"`
	}
	if err := json.Unmarshal(response, &r); err != nil {
		return st, ErrVerificationFailed.With("", err)
	}
	raw, err := decodeB64(r.Response.ClientDataJSON)
	if err != nil || json.Unmarshal(raw, &cd) != nil {
		return st, ErrVerificationFailed.With("", errors.New("clientDataJSON is not base64url JSON"))
	}
	challenge, err := decodeB64(cd.Challenge)
	if err != nil || len(challenge) == 0 {
		return st, errCorbadoCeremony
	}
	found, err := c.take(ctx, ceremonyKey(challenge), &st)
	switch {
	case err != nil:
		return st, err
	case !found:
		return st, errCorbadoCeremony
	case st.Kind != kind:
		return st, ErrVerificationFailed.With("", fmt.Errorf("ceremony of kind %s finished as %s", st.Kind, kind))
	}
	return st, nil
}

// decodeB64 decodes base64url or standard base64, padded or not.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "+/") {
		return base64.RawStdEncoding.DecodeString(s)
	}
	return base64.RawURLEncoding.DecodeString(s)
}

// canonicalID writes a credential ID as unpadded base64url, the form the
// browser reports; an ID that is not base64 is returned unchanged.
func canonicalID(s string) string {
	b, err := decodeB64(s)
	if err != nil || len(b) == 0 {
		return s
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// StartAppend implements [Backend]. The user asked to add a passkey, so
// Corbado is told to allow it (forcePasskeyAppend).
func (c *Corbado) StartAppend(ctx context.Context, u User, cl Client) (AppendStart, error) {
	st := newCeremony(kindAppend, u.ID, u.Email, cl)
	rsp, err := c.api.PasskeyAppendStart(ctx, corbadoapi.PasskeyAppendStartReq{
		UserID: u.ID, ProcessID: st.ProcessID, Username: u.Email,
		ClientInformation: clientInformation(cl, nil),
		PasskeyIntelFlags: corbadoapi.PasskeyIntelFlags{ForcePasskeyAppend: true},
	})
	var ae *corbadoapi.Error
	if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
		return AppendStart{}, ErrUnauthorized.With("The account of this session no longer exists.", err)
	}
	if err != nil {
		return AppendStart{}, c.upstream(err)
	}
	if !rsp.AppendAllow {
		return AppendStart{}, nil
	}
	opts, err := c.started(ctx, st, rsp.AttestationOptions)
	return AppendStart{Allow: err == nil, Options: opts}, err
}

// FinishAppend implements [Backend]. A user Corbado does not list as
// active gets no passkey. The passkey returned is the one Corbado lists
// for the user under the response's credential ID.
func (c *Corbado) FinishAppend(ctx context.Context, u User, response json.RawMessage, cl Client) (Passkey, error) {
	st, err := c.takeCeremony(ctx, response, kindAppend)
	if err != nil {
		return Passkey{}, err
	}
	if st.UserID != u.ID {
		return Passkey{}, ErrVerificationFailed.With("", fmt.Errorf("append ceremony of user %s finished by user %s", st.UserID, u.ID))
	}
	var cred struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(response, &cred); err != nil || cred.ID == "" {
		return Passkey{}, ErrVerificationFailed.With("", errors.New("the response has no credential id"))
	}
	if err := c.activeUser(ctx, st.UserID); err != nil {
		return Passkey{}, err
	}
	rsp, err := c.api.PasskeyAppendFinish(ctx, corbadoapi.PasskeyAppendFinishReq{
		UserID: st.UserID, ProcessID: st.ProcessID, AttestationResponse: string(response),
		ClientInformation: clientInformation(cl, st.Caps), TrackingID: st.TrackingID,
	})
	if err != nil {
		return Passkey{}, c.finishFailed(err)
	}
	if rsp.PasskeyData.UserID != st.UserID {
		return Passkey{}, ErrUpstream.With("", fmt.Errorf("corbado appended the passkey to user %q, not %q", rsp.PasskeyData.UserID, st.UserID))
	}
	creds, err := c.credentials(ctx, u.ID)
	if err != nil {
		return Passkey{}, err
	}
	id := canonicalID(cred.ID)
	for _, p := range creds {
		if canonicalID(p.CredentialID) == id {
			return toPasskey(p), nil
		}
	}
	return Passkey{}, ErrUpstream.With("", errors.New("corbado does not list the passkey it just appended"))
}

// StartLogin implements [Backend]. Unknown emails, and users Corbado
// does not offer a passkey login, get Allow false.
func (c *Corbado) StartLogin(ctx context.Context, email string, cl Client) (LoginStart, error) {
	id, ok, err := c.findIdentifier(ctx, email)
	if err != nil || !ok {
		return LoginStart{}, err
	}
	st := newCeremony(kindLogin, id.UserID, email, cl)
	rsp, err := c.api.PasskeyLoginStart(ctx, corbadoapi.PasskeyLoginStartReq{
		UserID: id.UserID, ClientInformation: clientInformation(cl, nil),
		CrossDeviceAuthenticationStrategy: "standard", ProcessID: st.ProcessID,
	})
	if err != nil {
		return LoginStart{}, c.upstream(err)
	}
	if !rsp.LoginAllow {
		return LoginStart{}, nil
	}
	opts, err := c.started(ctx, st, rsp.AssertionOptions)
	return LoginStart{Allow: err == nil, Options: opts}, err
}

// FinishLogin implements [Backend]. A user Corbado does not list as
// active gets no session, whatever their passkey.
func (c *Corbado) FinishLogin(ctx context.Context, response json.RawMessage, cl Client) (User, error) {
	st, err := c.takeCeremony(ctx, response, kindLogin)
	if err != nil {
		return User{}, err
	}
	rsp, err := c.api.PasskeyLoginFinish(ctx, corbadoapi.PasskeyLoginFinishReq{
		UserID: st.UserID, AssertionResponse: string(response),
		ClientInformation: clientInformation(cl, st.Caps), ProcessID: st.ProcessID, TrackingID: st.TrackingID,
	})
	if err != nil {
		return User{}, c.finishFailed(err)
	}
	if rsp.PasskeyData.UserID != st.UserID {
		return User{}, ErrVerificationFailed.With("", fmt.Errorf("login of user %s answered for user %q", st.UserID, rsp.PasskeyData.UserID))
	}
	if err := c.activeUser(ctx, st.UserID); err != nil {
		return User{}, err
	}
	return User{ID: st.UserID, Email: st.Email}, nil
}

// StartMediation implements [Backend].
func (c *Corbado) StartMediation(ctx context.Context, cl Client) (LoginStart, error) {
	st := newCeremony(kindMediation, "", "", cl)
	rsp, err := c.api.PasskeyMediationStart(ctx, corbadoapi.PasskeyMediationStartReq{ClientInformation: clientInformation(cl, nil)})
	if err != nil {
		return LoginStart{}, c.upstream(err)
	}
	if !rsp.LoginAllow {
		return LoginStart{}, nil
	}
	opts, err := c.started(ctx, st, rsp.AssertionOptions)
	return LoginStart{Allow: err == nil, Options: opts}, err
}

// FinishMediation implements [Backend]. The user is the one Corbado
// reports, and gets a session only when Corbado lists them as active; the
// email is the username the passkey was appended with.
func (c *Corbado) FinishMediation(ctx context.Context, response json.RawMessage, cl Client) (User, error) {
	st, err := c.takeCeremony(ctx, response, kindMediation)
	if err != nil {
		return User{}, err
	}
	rsp, err := c.api.PasskeyMediationFinish(ctx, corbadoapi.PasskeyMediationFinishReq{
		AssertionResponse: string(response), ClientInformation: clientInformation(cl, st.Caps),
		ProcessID: st.ProcessID, TrackingID: st.TrackingID,
	})
	if err != nil {
		return User{}, c.finishFailed(err)
	}
	if rsp.Error != nil {
		return User{}, ErrVerificationFailed.With("", fmt.Errorf("corbado mediation error %q", rsp.Error.Type))
	}
	if rsp.PasskeyData.UserID == "" || rsp.PasskeyData.Username == "" {
		return User{}, ErrUpstream.With("", errors.New("corbado mediation finish names no user"))
	}
	if err := c.activeUser(ctx, rsp.PasskeyData.UserID); err != nil {
		return User{}, err
	}
	return User{ID: rsp.PasskeyData.UserID, Email: strings.ToLower(strings.TrimSpace(rsp.PasskeyData.Username))}, nil
}

// ListPasskeys implements [Backend].
func (c *Corbado) ListPasskeys(ctx context.Context, u User) ([]Passkey, error) {
	creds, err := c.credentials(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	out := make([]Passkey, 0, len(creds))
	for _, cr := range creds {
		out = append(out, toPasskey(cr))
	}
	slices.SortStableFunc(out, func(a, b Passkey) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// DeletePasskey implements [Backend]. The browser's credential ID is
// mapped to Corbado's credential object ID through the user's own list,
// so another user's passkey is never found.
func (c *Corbado) DeletePasskey(ctx context.Context, u User, id string) error {
	creds, err := c.credentials(ctx, u.ID)
	if err != nil {
		return err
	}
	for _, cr := range creds {
		if canonicalID(cr.CredentialID) != id {
			continue
		}
		err := c.api.CredentialDelete(ctx, u.ID, cr.ID)
		var ae *corbadoapi.Error
		if errors.As(err, &ae) && ae.StatusCode == http.StatusNotFound {
			return ErrNotFound.With("You have no passkey with this id.", err)
		}
		if err != nil {
			return c.upstream(err)
		}
		return nil
	}
	return ErrNotFound.With("You have no passkey with this id.", nil)
}

// credentials lists the user's active passkeys, every page of them.
func (c *Corbado) credentials(ctx context.Context, userID string) ([]corbadoapi.Credential, error) {
	const pageSize, maxPages = 100, 10
	var out []corbadoapi.Credential
	for page := 1; page <= maxPages; page++ {
		l, err := c.api.CredentialList(ctx, userID, corbadoapi.ListParams{Sort: "created:asc", Page: page, PageSize: pageSize})
		if err != nil {
			return nil, c.upstream(err)
		}
		for _, cr := range l.Credentials {
			if cr.Status == "active" {
				out = append(out, cr)
			}
		}
		if page >= l.Paging.TotalPages || len(l.Credentials) == 0 {
			break
		}
	}
	return out, nil
}

// zeroAAGUID is the AAGUID of authenticators that do not tell theirs.
const zeroAAGUID = "00000000-0000-0000-0000-000000000000"

func toPasskey(cr corbadoapi.Credential) Passkey {
	p := Passkey{
		ID: canonicalID(cr.CredentialID), Name: passkeyName(cr),
		CreatedAt:      time.UnixMilli(cr.CreatedMs).UTC(),
		BackupEligible: cr.BackupEligible, BackedUp: cr.BackupState,
		Transports: append([]string{}, cr.Transport...),
	}
	if cr.LastUsedMs > 0 {
		t := time.UnixMilli(cr.LastUsedMs).UTC()
		p.LastUsedAt = &t
	}
	if a := strings.ToLower(cr.AuthenticatorAAGUID); a != "" && a != zeroAAGUID {
		p.AAGUID = a
	}
	return p
}

// passkeyName names a passkey after its provider (from the AAGUID) or
// else the browser and system it was created on.
func passkeyName(cr corbadoapi.Credential) string {
	if n := strings.TrimSpace(cr.AAGUIDDetails.Name); n != "" {
		return n
	}
	switch b, s := cr.SourceBrowser, cr.SourceOS; {
	case b != "" && s != "":
		return "Passkey on " + b + " (" + s + ")"
	case b != "" || s != "":
		return "Passkey on " + b + s
	}
	return "Passkey"
}

// clientInformation describes the browser to Corbado. caps, when not
// nil, replaces the capabilities of cl (a finish reuses those its start
// was sent). A capability the page did not report is taken to be
// available: the page asks for passkey options only where it means to use
// them, and the browser has the last word.
func clientInformation(cl Client, caps map[string]bool) corbadoapi.ClientInformation {
	if caps == nil {
		caps = cl.Capabilities
	}
	flag := func(names ...string) bool {
		for _, n := range names {
			if v, ok := caps[n]; ok {
				return v
			}
		}
		return true
	}
	ci := corbadoapi.ClientInformation{
		RemoteAddress: cl.RemoteAddr, UserAgent: cl.UserAgent,
		UserVerifyingPlatformAuthenticatorAvailable: flag("userVerifyingPlatformAuthenticator", "passkeyPlatformAuthenticator"),
		ConditionalMediationAvailable:               flag("conditionalGet"),
		ParsedDeviceInfo:                            parseUserAgent(cl.UserAgent),
	}
	if v, ok := caps["hybridTransport"]; ok {
		ci.BluetoothAvailable = &v
	}
	return ci
}

// parseUserAgent reads the browser and system from a User-Agent header.
// Unknown parts stay empty.
func parseUserAgent(ua string) corbadoapi.ParsedDeviceInfo {
	var d corbadoapi.ParsedDeviceInfo
	for _, b := range []struct{ token, name, version string }{
		{"Edg/", "Edge", "Edg/"}, {"EdgiOS/", "Edge", "EdgiOS/"}, {"OPR/", "Opera", "OPR/"},
		{"Firefox/", "Firefox", "Firefox/"}, {"FxiOS/", "Firefox", "FxiOS/"},
		{"CriOS/", "Chrome", "CriOS/"}, {"Chrome/", "Chrome", "Chrome/"}, {"Safari/", "Safari", "Version/"},
	} {
		if strings.Contains(ua, b.token) {
			d.BrowserName, d.BrowserVersion = b.name, uaVersion(ua, b.version)
			break
		}
	}
	for _, s := range []struct{ token, name string }{
		{"Windows NT ", "Windows"}, {"iPhone OS ", "iOS"}, {"CPU OS ", "iPadOS"}, {"Android ", "Android"},
		{"Mac OS X ", "macOS"}, {"CrOS", "ChromeOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			d.OSName = s.name
			if strings.HasSuffix(s.token, " ") {
				d.OSVersion = strings.ReplaceAll(uaVersion(ua, s.token), "_", ".")
			}
			break
		}
	}
	return d
}

// uaVersion returns the version that follows token in ua.
func uaVersion(ua, token string) string {
	_, rest, ok := strings.Cut(ua, token)
	if !ok {
		return ""
	}
	if i := strings.IndexAny(rest, " ;)"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}
