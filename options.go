package passkeys

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"
)

// Options configures a [Handler]. The zero value of every field except
// Backend and the session key is a safe default; each field says what it is.
type Options struct {
	// Backend performs the ceremonies: the self-hosted engine
	// (selfhosted.New) or Corbado's Backend API ([NewCorbado]). Required.
	Backend Backend

	// SessionIssuer issues the session token returned after a successful
	// OTP or passkey login. SessionVerifier checks the tokens presented to
	// the routes that need a session and to [Handler.RequireSession].
	// Set both to use your own session system. When both are nil, the demo
	// JWT sessions of [NewJWTSessions] are used with JWTKey, and with the
	// Backend as their [JWTOptions.Lookup] when it is a [UserLookup], so a
	// token of a deleted account is refused.
	SessionIssuer   SessionIssuer
	SessionVerifier SessionVerifier

	// JWTKey is the HMAC key of the demo JWT sessions; at least 32 bytes.
	// Required when SessionIssuer and SessionVerifier are nil; ignored
	// otherwise.
	JWTKey []byte
	// JWTIssuer and JWTAudience are the iss and aud claims of the demo JWT
	// sessions. Default "passkeys" for both.
	JWTIssuer   string
	JWTAudience string
	// SessionLifetime is how long a demo JWT session lasts. Default 1 hour.
	SessionLifetime time.Duration

	// IPLimit limits OTP requests and OTP checks together, per client IP.
	// Default 60 a minute with bursts of 60.
	IPLimit Rate
	// EmailLimit limits OTP requests (codes sent) per email address.
	// Default 10 a minute with bursts of 10.
	EmailLimit Rate
	// OTPCheckLimit limits OTP checks per email address, across all the
	// codes sent to it: a new code does not buy new guesses. Default 10 an
	// hour with bursts of 10, which bounds a guesser to 240 of the million
	// possible codes a day. Someone who spends those checks on purpose
	// blocks code login for that email until the bucket refills (6
	// minutes a check); passkey login is unaffected.
	OTPCheckLimit Rate
	// OTPFailureLimit bounds the failed code checks per email address
	// over a long time, across all codes and all instances sharing the
	// Limiter: a check takes a token and a successful one gives it back
	// ([Refunder]), so only failures count (a check answered 503
	// unavailable gives its token back too). Default 100 per 30 days with
	// bursts of 100 (NIST SP 800-63B §5.2.2: at most 100 consecutive
	// failures): past that, code checks for the address are refused with
	// 429 too_many_attempts until a failure is forgiven (one every 7.2
	// hours) or an operator resets it ([Handler.ResetOTPFailures]);
	// passkey login keeps working. A negative Events disables the bound.
	// It needs a Limiter that implements [Refunder]; New refuses one that
	// does not unless the bound is disabled or DisableOTP is set.
	OTPFailureLimit Rate
	// StartLimit limits the unauthenticated ceremony starts
	// (passkey/login/start and passkey/mediation/start) per client IP.
	// Default 600 a minute with bursts of 600.
	StartLimit Rate
	// Limiter keeps the rate-limit state. Default: in this process's
	// memory, which is per instance. Several instances share limits through
	// a Limiter backed by their common database.
	Limiter Limiter

	// TrustedProxies lists the networks of reverse proxies whose
	// X-Forwarded-For header is believed. The client IP is the right-most
	// X-Forwarded-For entry that is not itself a trusted proxy. Default
	// none: the client IP is the connection's remote address.
	TrustedProxies []netip.Prefix

	// MaxBodyBytes caps request bodies. Default [DefaultMaxBodyBytes]
	// (64 KiB), maximum 1 MiB. The largest request is a passkey
	// registration response: about 25 KiB at most, with a 1,023-byte
	// credential ID, an RSA-8192 key and a TPM attestation chain of four
	// certificates; a typical one is under 2 KiB.
	MaxBodyBytes int64

	// DisableOTP switches the one-time-code endpoints off, for a host
	// with its own first factor that only adds passkeys to its users:
	// signUpOrLogin and account/email then answer 404. Default false: OTP
	// is on.
	DisableOTP bool

	// ReauthenticationAge is how recent the session's sign-in must be for
	// a destructive call (DELETE passkeys/{id}, DELETE account, POST
	// account/email, DELETE sessions/{id} of another session); an older
	// one, or a session system that does not know when its session signed
	// in, gets 403 reauthentication_required. Default 10 minutes; a
	// negative value switches the check off.
	ReauthenticationAge time.Duration

	// Events receives an [Event] for every sign-up, login, code sent or
	// failed, passkey added or removed, session created or revoked,
	// account deleted, email changed, rate limit hit, failed passkey
	// verification and answered request. A request only queues its
	// events (about a microsecond each); one goroutine of the handler
	// hands them to Events in order, so a slow, blocking or panicking sink
	// never delays or breaks a response. A panic is recovered and logged
	// at ERROR. Combine sinks with [MultiSink]. Default nil: no events.
	Events EventSink
	// Activity lists the signed-in user's recorded security events for
	// GET account/activity; selfhosted.NewActivitySink is one, and works
	// beside either backend. It is also the sink that records them: put it
	// in Events too (with MultiSink), or the list stays empty. The endpoint first
	// waits (up to a second) for the events queued before it to reach
	// Events, so the caller's latest actions are listed. Default nil: the
	// endpoint answers 404.
	Activity ActivityLister
	// EventQueue bounds how many events wait for Events; when it is full,
	// new events are dropped, counted by [Handler.DroppedEvents] and
	// logged at ERROR. Default [DefaultEventQueue].
	EventQueue int

	// Cookie, when set, turns on cookie sessions: login answers set the
	// session token as an HttpOnly cookie, logout clears it, the session
	// guard accepts it, and unsafe requests that rely on it must come from
	// its configured origins. Default nil: sessions travel only in the
	// Authorization header.
	Cookie *CookieOptions
	// CORS lets pages of the listed origins call the handler from a
	// browser. Default: no CORS, so only pages of the API's own origin
	// can.
	CORS CORSOptions

	// Logger receives one line per failed request with its internal cause,
	// never a code, token or secret. Default slog.Default().
	Logger *slog.Logger
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
}

// Rate is a token-bucket limit: Events per Per, with bursts up to Burst.
// The zero Rate selects the field's default; a negative Events disables
// the limit.
type Rate struct {
	Events int
	Per    time.Duration
	Burst  int
}

// DefaultMaxBodyBytes is the default of [Options.MaxBodyBytes].
const DefaultMaxBodyBytes = 64 << 10

// maxBody is the largest [Options.MaxBodyBytes] New accepts.
const maxBody = 1 << 20

// DefaultReauthenticationAge is the default of [Options.ReauthenticationAge].
const DefaultReauthenticationAge = 10 * time.Minute

func (o Options) withDefaults() (Options, error) {
	if o.Backend == nil {
		return o, errors.New("passkeys: Options.Backend is required")
	}
	if (o.SessionIssuer == nil) != (o.SessionVerifier == nil) {
		return o, errors.New("passkeys: set both Options.SessionIssuer and Options.SessionVerifier, or neither")
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.ReauthenticationAge == 0 {
		o.ReauthenticationAge = DefaultReauthenticationAge
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.EventQueue == 0:
		o.EventQueue = DefaultEventQueue
	case o.EventQueue < 0:
		return o, errors.New("passkeys: Options.EventQueue must not be negative")
	}
	if o.SessionIssuer == nil {
		lookup, _ := o.Backend.(UserLookup)
		j, err := NewJWTSessions(JWTOptions{
			Key: o.JWTKey, Issuer: o.JWTIssuer, Audience: o.JWTAudience,
			Lifetime: o.SessionLifetime, Clock: o.Clock, Lookup: lookup,
		})
		if err != nil {
			return o, err
		}
		o.SessionIssuer, o.SessionVerifier = j, j
	}
	var err error
	if o.IPLimit, err = o.IPLimit.withDefault("IPLimit", Rate{Events: 60, Per: time.Minute, Burst: 60}); err != nil {
		return o, err
	}
	if o.EmailLimit, err = o.EmailLimit.withDefault("EmailLimit", Rate{Events: 10, Per: time.Minute, Burst: 10}); err != nil {
		return o, err
	}
	if o.OTPCheckLimit, err = o.OTPCheckLimit.withDefault("OTPCheckLimit", Rate{Events: 10, Per: time.Hour, Burst: 10}); err != nil {
		return o, err
	}
	if o.StartLimit, err = o.StartLimit.withDefault("StartLimit", Rate{Events: 600, Per: time.Minute, Burst: 600}); err != nil {
		return o, err
	}
	if o.OTPFailureLimit, err = o.OTPFailureLimit.withDefault("OTPFailureLimit", Rate{Events: 100, Per: 30 * 24 * time.Hour, Burst: 100}); err != nil {
		return o, err
	}
	if o.Limiter == nil {
		o.Limiter = NewMemoryLimiter(o.Clock)
	}
	if _, ok := o.Limiter.(Refunder); !ok && !o.OTPFailureLimit.disabled() && !o.DisableOTP {
		return o, fmt.Errorf("passkeys: Options.Limiter (%T) does not implement passkeys.Refunder, which Options.OTPFailureLimit needs to count only failed code checks; add a Refund method or disable the bound with a negative OTPFailureLimit.Events", o.Limiter)
	}
	for i, p := range o.TrustedProxies {
		if !p.IsValid() {
			return o, fmt.Errorf("passkeys: Options.TrustedProxies[%d] is not a valid prefix", i)
		}
	}
	switch {
	case o.MaxBodyBytes == 0:
		o.MaxBodyBytes = DefaultMaxBodyBytes
	case o.MaxBodyBytes < 0 || o.MaxBodyBytes > maxBody:
		return o, fmt.Errorf("passkeys: Options.MaxBodyBytes must be between 1 and %d", maxBody)
	}
	return o, nil
}

func (r Rate) withDefault(field string, def Rate) (Rate, error) {
	switch {
	case r == Rate{}:
		return def, nil
	case r.Events < 0:
		return r, nil
	case r.Events == 0 || r.Per <= 0:
		return r, fmt.Errorf("passkeys: Options.%s needs positive Events and Per (or a negative Events to disable it)", field)
	}
	if r.Burst <= 0 {
		r.Burst = r.Events
	}
	return r, nil
}

func (r Rate) disabled() bool { return r.Events < 0 }
