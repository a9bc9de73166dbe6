package passkeys

import (
	"context"
	"encoding/base64"
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
// reports a new user. A user Corbado says does not exist (deleted, say)
// gets [ErrUnauthorized]; errors carry Corbado's answer as a
// [*CorbadoAPIError].
//
// It is safe for concurrent use, across instances too when they share
// [CorbadoOptions.Ceremonies].
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

// activeUser refuses a user that Corbado does not list as active, so
// that a disabled or deleted account gets neither a session nor a new
// passkey.
func (c *Corbado) activeUser(ctx context.Context, userID string) error {
	u, err := call(c.api.UserGet(ctx, userID))
	if err != nil {
		return c.gone(err, "userID")
	}
	if u.Status != corbadoapi.UserActive {
		return ErrUnauthorized.With("This account is disabled.", fmt.Errorf("corbado user status %q", u.Status))
	}
	return nil
}

// StartAppend implements [Backend]. The user asked to add a passkey, so
// Corbado is told to allow it (forcePasskeyAppend). The request's hints
// ([Client.Hints]) are added to Corbado's options as publicKey.hints:
// Corbado's Backend API has no hints setting, and hints only lead the
// browser's dialog.
func (c *Corbado) StartAppend(ctx context.Context, u User, cl Client) (AppendStart, error) {
	st := newCeremony(kindAppend, u.ID, u.Email, cl)
	rsp, err := call(c.api.PasskeyAppendStart(ctx, corbadoapi.PasskeyAppendStartReq{
		UserID: u.ID, ProcessID: st.ProcessID, Username: u.Email,
		ClientInformation: clientInformation(cl, nil),
		PasskeyIntelFlags: corbadoapi.PasskeyIntelFlags{ForcePasskeyAppend: true},
	}))
	if doesNotExist(err, "userID") {
		return AppendStart{}, ErrUnauthorized.With("The account of this session no longer exists.", err)
	}
	if err != nil {
		return AppendStart{}, c.upstream(err)
	}
	if !rsp.AppendAllow {
		return AppendStart{}, nil
	}
	opts, err := c.started(ctx, st, rsp.AttestationOptions, cl.Hints)
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
	rsp, err := call(c.api.PasskeyAppendFinish(ctx, corbadoapi.PasskeyAppendFinishReq{
		UserID: st.UserID, ProcessID: st.ProcessID, AttestationResponse: string(response),
		ClientInformation: clientInformation(cl, st.Caps), TrackingID: st.TrackingID,
	}))
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

// StartLogin implements [Backend]. Unknown emails, users deleted
// meanwhile and users Corbado does not offer a passkey login get Allow
// false. The request's hints are added to Corbado's options, as for
// [Corbado.StartAppend].
func (c *Corbado) StartLogin(ctx context.Context, email string, cl Client) (LoginStart, error) {
	id, ok, err := c.findIdentifier(ctx, email)
	if err != nil || !ok {
		return LoginStart{}, err
	}
	st := newCeremony(kindLogin, id.UserID, email, cl)
	rsp, err := call(c.api.PasskeyLoginStart(ctx, corbadoapi.PasskeyLoginStartReq{
		UserID: id.UserID, ClientInformation: clientInformation(cl, nil),
		CrossDeviceAuthenticationStrategy: "standard", ProcessID: st.ProcessID,
	}))
	if doesNotExist(err, "userID") {
		// The identifier outlived its user for a moment: an unknown email.
		return LoginStart{}, nil
	}
	if err != nil {
		return LoginStart{}, c.upstream(err)
	}
	if !rsp.LoginAllow {
		return LoginStart{}, nil
	}
	opts, err := c.started(ctx, st, rsp.AssertionOptions, cl.Hints)
	return LoginStart{Allow: err == nil, Options: opts}, err
}

// deletedSinceStart returns the response's credential ID when it was on
// the button login's allowCredentials and the user no longer has it (the
// passkey was deleted since the start), nil otherwise.
func (c *Corbado) deletedSinceStart(ctx context.Context, st ceremonyState, response json.RawMessage) ([]byte, error) {
	id := responseCredentialID(response)
	if id == nil || !slices.Contains(st.Allow, base64.RawURLEncoding.EncodeToString(id)) {
		return nil, nil
	}
	creds, err := c.credentials(ctx, st.UserID)
	if err != nil {
		return nil, err
	}
	for _, cr := range creds {
		if canonicalID(cr.CredentialID) == base64.RawURLEncoding.EncodeToString(id) {
			return nil, nil
		}
	}
	return id, nil
}

// FinishLogin implements [Backend]. A user Corbado does not list as
// active gets no session, whatever their passkey. Corbado's login finish
// does not say why it refuses a response; when it refuses one whose
// credential was on the login's allowCredentials and is no longer the
// user's, the passkey was deleted since the start and the answer is
// [ErrUnknownCredential]. In an autofill login ([Corbado.FinishMediation])
// Corbado reports a deleted credential itself (credentialDeleted).
func (c *Corbado) FinishLogin(ctx context.Context, response json.RawMessage, cl Client) (User, error) {
	st, err := c.takeCeremony(ctx, response, kindLogin)
	if err != nil {
		return User{}, err
	}
	rsp, err := call(c.api.PasskeyLoginFinish(ctx, corbadoapi.PasskeyLoginFinishReq{
		UserID: st.UserID, AssertionResponse: string(response),
		ClientInformation: clientInformation(cl, st.Caps), ProcessID: st.ProcessID, TrackingID: st.TrackingID,
	}))
	if err != nil {
		if refused(err) {
			if gone, lerr := c.deletedSinceStart(ctx, st, response); lerr == nil && gone != nil {
				return User{}, UnknownCredential(gone, err)
			}
		}
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
	rsp, err := call(c.api.PasskeyMediationStart(ctx, corbadoapi.PasskeyMediationStartReq{ClientInformation: clientInformation(cl, nil)}))
	if err != nil {
		return LoginStart{}, c.upstream(err)
	}
	if !rsp.LoginAllow {
		return LoginStart{}, nil
	}
	opts, err := c.started(ctx, st, rsp.AssertionOptions, nil)
	return LoginStart{Allow: err == nil, Options: opts}, err
}

// FinishMediation implements [Backend]. The user is the one Corbado
// reports, and gets a session only when Corbado lists them as active; the
// email is the user's email identifier as it is now (see
// [Corbado.LookupUser]), not the username the passkey was appended with.
func (c *Corbado) FinishMediation(ctx context.Context, response json.RawMessage, cl Client) (User, error) {
	st, err := c.takeCeremony(ctx, response, kindMediation)
	if err != nil {
		return User{}, err
	}
	rsp, err := call(c.api.PasskeyMediationFinish(ctx, corbadoapi.PasskeyMediationFinishReq{
		AssertionResponse: string(response), ClientInformation: clientInformation(cl, st.Caps),
		ProcessID: st.ProcessID, TrackingID: st.TrackingID,
	}))
	if err != nil {
		return User{}, c.finishFailed(err)
	}
	if rsp.Error != nil {
		cause := fmt.Errorf("corbado mediation error %q", rsp.Error.Type)
		if id := responseCredentialID(response); rsp.Error.Type == "credentialDeleted" && id != nil {
			return User{}, UnknownCredential(id, cause)
		}
		return User{}, ErrVerificationFailed.With("", cause)
	}
	if rsp.PasskeyData.UserID == "" || rsp.PasskeyData.Username == "" {
		return User{}, ErrUpstream.With("", errors.New("corbado mediation finish names no user"))
	}
	// passkeyData.username is the name the passkey was made with, which
	// an email change since then does not update; the user's email is
	// their email identifier now, read with the status check in one
	// round trip.
	return c.LookupUser(ctx, rsp.PasskeyData.UserID)
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
		err := fromAPI(c.api.CredentialDelete(ctx, u.ID, cr.ID))
		switch {
		case doesNotExist(err, "userID"):
			return errAccountGone.With("", err)
		case doesNotExist(err, "credentialID"):
			return ErrNotFound.With("You have no passkey with this id.", err)
		}
		if err != nil {
			return c.upstream(err)
		}
		return nil
	}
	return ErrNotFound.With("You have no passkey with this id.", nil)
}
