package passkeys

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/passkeyready/passkeys/internal/weborigin"
)

// CookieOptions turns on cookie sessions (see [Options.Cookie]): the login
// responses set the session token as an HttpOnly cookie, logout clears it,
// and the session guard accepts it when a request has no Authorization
// header. Unsafe requests that rely on the cookie must come from one of
// Origins (see [ErrCrossOriginRequest]).
type CookieOptions struct {
	// Origins lists the web origins whose pages use the cookie, each
	// exactly as a browser writes it in the Origin header
	// ("https://app.example.com", "http://localhost:8080"): lower-case, no
	// default port, no path. Required. An unsafe request (POST, DELETE)
	// authenticated by the cookie is refused unless the browser says it is
	// same-origin or it comes from one of these origins (or of
	// [CORSOptions.Origins]), and a present Origin header must be one of
	// them. The cookie is Secure unless every origin is plain http on the
	// loopback interface (http://localhost, http://127.0.0.1,
	// http://[::1]); an http:// origin anywhere else is refused, since the
	// session would travel unencrypted.
	Origins []string
	// Name is the cookie's name. Default [DefaultCookieName]. A name with
	// the "__Host-" prefix needs a Secure cookie, Path "/" and no Domain;
	// one with "__Secure-" needs a Secure cookie (browsers enforce both).
	Name string
	// Path is the cookie's path. Default "/", so that the application's
	// own routes behind [Handler.RequireSession] receive it too.
	Path string
	// Domain is the cookie's domain. Default none: the cookie goes only
	// to the host that set it. Setting it shares the session with every
	// subdomain of Domain.
	Domain string
	// SameSite is the cookie's SameSite attribute. Default (the zero
	// value) http.SameSiteLaxMode. http.SameSiteNoneMode, for a front end
	// on another site, needs a Secure cookie.
	SameSite http.SameSite
	// TokenInBody keeps sessionToken in the JSON answer of the login
	// endpoints although the cookie carries it. Default false: in cookie
	// mode the answer has no sessionToken, so a script on the page never
	// sees the token, which is the point of an HttpOnly cookie. Set it for
	// a handler that also serves clients without cookies (a native app)
	// from the same login endpoints.
	TokenInBody bool
}

// DefaultCookieName is the default of [CookieOptions.Name].
const DefaultCookieName = "passkeys_session"

// SessionLifetimer is an optional capability of a [SessionIssuer]: the
// lifetime of the sessions it issues, which becomes the Max-Age of the
// session cookie. Without it the cookie has no Max-Age and the browser
// drops it when it closes. [JWTSessions] and selfhosted.Sessions have it.
// [New] calls it once.
type SessionLifetimer interface {
	SessionLifetime() time.Duration
}

// ErrCrossOriginRequest refuses an unsafe request (POST, DELETE) that
// relies on the session cookie, or would set it, and that a browser sent
// from a page of an origin that is not configured
// ([CookieOptions.Origins], [CORSOptions.Origins]): a cross-site request
// forgery. The request changes nothing.
var ErrCrossOriginRequest = &Error{Status: http.StatusForbidden, Code: "cross_origin_request", Title: "Cross-origin request refused",
	Detail: "This request comes from a page of another origin and would use the session cookie; it was refused."}

// cookieJar is the cookie session configuration, after validation.
type cookieJar struct {
	name, path, domain string
	sameSite           http.SameSite
	secure             bool
	maxAge             int // seconds; 0 means no Max-Age
	tokenInBody        bool

	trusted    map[string]bool
	protection *http.CrossOriginProtection
}

// newCookieJar validates c. corsOrigins, already validated, are trusted
// for the cross-origin check as well: a page that may read credentialed
// answers through CORS may send requests too.
func newCookieJar(c CookieOptions, corsOrigins []string, issuer SessionIssuer) (*cookieJar, error) {
	if len(c.Origins) == 0 {
		return nil, errors.New("passkeys: Options.Cookie.Origins is required: list the origins of the pages that use the session cookie")
	}
	j := &cookieJar{
		name: c.Name, path: c.Path, domain: c.Domain, sameSite: c.SameSite,
		tokenInBody: c.TokenInBody, trusted: map[string]bool{},
		protection: http.NewCrossOriginProtection(),
	}
	loopbackOnly := true
	for _, o := range c.Origins {
		if err := weborigin.CheckWeb(o); err != nil {
			return nil, fmt.Errorf("passkeys: Options.Cookie.Origins entry %q %s", o, err)
		}
		if strings.HasPrefix(o, "http://") && !weborigin.IsLoopbackHTTP(o) {
			return nil, fmt.Errorf("passkeys: Options.Cookie.Origins entry %q is plain http away from localhost: the session cookie would travel unencrypted; serve the page over https", o)
		}
		loopbackOnly = loopbackOnly && weborigin.IsLoopbackHTTP(o)
		j.trusted[o] = true
	}
	for _, o := range corsOrigins {
		j.trusted[o] = true
	}
	for o := range j.trusted {
		if err := j.protection.AddTrustedOrigin(o); err != nil {
			return nil, fmt.Errorf("passkeys: origin %q: %w", o, err)
		}
	}
	j.secure = !loopbackOnly
	if j.name == "" {
		j.name = DefaultCookieName
	}
	if j.path == "" {
		j.path = "/"
	}
	switch j.sameSite {
	case 0, http.SameSiteDefaultMode:
		j.sameSite = http.SameSiteLaxMode
	case http.SameSiteLaxMode, http.SameSiteStrictMode:
	case http.SameSiteNoneMode:
		if !j.secure {
			return nil, errors.New("passkeys: Options.Cookie.SameSite None needs a Secure cookie, which an http://localhost origin does not get: use Lax or Strict there")
		}
	default:
		return nil, fmt.Errorf("passkeys: Options.Cookie.SameSite %d is not an http.SameSite mode", j.sameSite)
	}
	if err := j.cookie("x", 0).Valid(); err != nil {
		return nil, fmt.Errorf("passkeys: Options.Cookie.Name, Path or Domain: %w", err)
	}
	switch {
	case strings.HasPrefix(j.name, "__Host-") && (!j.secure || j.path != "/" || j.domain != ""):
		return nil, fmt.Errorf("passkeys: Options.Cookie.Name %q needs a Secure cookie (https origins), Path \"/\" and no Domain", j.name)
	case strings.HasPrefix(j.name, "__Secure-") && !j.secure:
		return nil, fmt.Errorf("passkeys: Options.Cookie.Name %q needs a Secure cookie (https origins)", j.name)
	}
	if l, ok := issuer.(SessionLifetimer); ok {
		if d := l.SessionLifetime(); d > 0 {
			j.maxAge = int((d + time.Second - 1) / time.Second)
		}
	}
	return j, nil
}

func (j *cookieJar) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: j.name, Value: value, Path: j.path, Domain: j.domain, MaxAge: maxAge,
		Secure: j.secure, HttpOnly: true, SameSite: j.sameSite,
	}
}

// set adds the Set-Cookie header that carries token. A token that cannot
// be a cookie value (the session issuer's choice) is an internal error.
func (j *cookieJar) set(w http.ResponseWriter, token string) error {
	c := j.cookie(token, j.maxAge)
	if c.Valid() != nil { // its error quotes the token: not for the log
		return errors.New("the session issuer's token is not a valid cookie value (RFC 6265 cookie-octets)")
	}
	w.Header().Add("Set-Cookie", c.String())
	return nil
}

// clear adds the Set-Cookie header that removes the cookie.
func (j *cookieJar) clear(w http.ResponseWriter) {
	w.Header().Add("Set-Cookie", j.cookie("", -1).String())
}

// token returns the cookie's value, if the request has a non-empty one.
func (j *cookieJar) token(r *http.Request) (string, bool) {
	for _, c := range r.CookiesNamed(j.name) {
		if c.Value != "" {
			return c.Value, true
		}
	}
	return "", false
}

// bearerRequest reports whether r has an Authorization header with the
// Bearer scheme. Only such a request skips the cross-origin check: a page
// can add that header to a cross-origin request only after a CORS
// preflight, and it carries no ambient credential. Any other scheme
// (Basic, Digest, Negotiate) may be one the browser adds by itself, to a
// cross-site form post too, on a site behind HTTP authentication.
func bearerRequest(r *http.Request) bool {
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Bearer")
}

// checkOrigin refuses an unsafe request that a browser sent from a page
// of an origin that is not configured. It runs for requests that are
// authenticated by the cookie or that set it (the login endpoints, where
// a forged request would sign the victim into the attacker's account),
// never for requests with a Bearer token (see bearerRequest).
//
// Why the combination is sound: http.CrossOriginProtection lets an unsafe
// request through when (a) Sec-Fetch-Site is same-origin or none, (b) the
// Origin header is one of the trusted (configured) origins, (c) neither
// Sec-Fetch-Site nor Origin is present, or (d) Sec-Fetch-Site is absent
// and the Origin's host equals r.Host. Case (d) derives the decision from
// r.Host and ignores the scheme (an http page could post to the https
// API); the second rule below closes it: whenever a request carries an
// Origin, it must be exactly one of the configured origins, scheme and
// port included. That also holds in case (a), so a same-origin request to
// a host name that is not configured is refused. Case (c) remains: every
// browser that sends neither header is older than SameSite=Lax cookies
// and the Origin header on POST (both arrived around 2019-2020), and a
// client that is not a browser holds the cookie itself, so there is no
// ambient credential to abuse. Safe methods (GET, HEAD, OPTIONS) pass:
// the handler's GET endpoints change nothing, and their answers are
// readable by another origin only through CORS, which lists origins
// exactly.
func (j *cookieJar) checkOrigin(r *http.Request) error {
	if err := j.protection.Check(r); err != nil {
		return ErrCrossOriginRequest.With("", err)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if o := r.Header.Get("Origin"); o != "" && !j.trusted[o] {
		return ErrCrossOriginRequest.With("", fmt.Errorf("the Origin header %q is not a configured origin", o))
	}
	return nil
}
