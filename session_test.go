package passkeys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestNewJWTSessionsValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    JWTOptions
		want string
	}{
		{"no key", JWTOptions{}, "at least 32 bytes"},
		{"short key", JWTOptions{Key: []byte("short")}, "at least 32 bytes"},
		{"negative lifetime", JWTOptions{Key: testKey, Lifetime: -time.Second}, "lifetime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewJWTSessions(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestJWTSessionsClaims(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := NewJWTSessions(JWTOptions{Key: testKey, Issuer: "iss-x", Audience: "aud-y", Lifetime: 10 * time.Minute, Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	u := User{ID: "usr_1", Email: "a@example.com"}
	tok, err := s.IssueSession(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithTimeFunc(func() time.Time { return now }))
	parsed, err := p.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return testKey, nil })
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Method.Alg() != "HS256" {
		t.Errorf("alg %s, want HS256", parsed.Method.Alg())
	}
	jti, _ := claims["jti"].(string)
	if len(jti) < 16 {
		t.Errorf("jti %q too short", jti)
	}
	delete(claims, "jti")
	want := jwt.MapClaims{"sub": "usr_1", "email": "a@example.com", "iss": "iss-x", "aud": []any{"aud-y"},
		"iat": float64(now.Unix()), "exp": float64(now.Add(10 * time.Minute).Unix())}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	got, err := s.VerifySession(context.Background(), tok)
	if err != nil || got != u {
		t.Errorf("VerifySession = %v, %v; want %v", got, err, u)
	}
	other, _ := s.IssueSession(context.Background(), u)
	if other == tok {
		t.Error("two sessions share a token (jti not random)")
	}
}

func TestJWTSessionsRejects(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, _ := NewJWTSessions(JWTOptions{Key: testKey, Clock: clock})
	base := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "usr_1", "iss": "passkeys", "aud": "passkeys", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	with := func(k string, v any) jwt.MapClaims {
		c := base()
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	cases := map[string]string{
		"valid control":    sign(jwt.SigningMethodHS256, testKey, base()),
		"HS384":            sign(jwt.SigningMethodHS384, testKey, base()),
		"alg none":         sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, base()),
		"other key":        sign(jwt.SigningMethodHS256, []byte("ffffffffffffffffffffffffffffffff"), base()),
		"expired":          sign(jwt.SigningMethodHS256, testKey, with("exp", now.Add(-time.Second).Unix())),
		"no exp":           sign(jwt.SigningMethodHS256, testKey, with("exp", nil)),
		"wrong iss":        sign(jwt.SigningMethodHS256, testKey, with("iss", "x")),
		"no iss":           sign(jwt.SigningMethodHS256, testKey, with("iss", nil)),
		"wrong aud":        sign(jwt.SigningMethodHS256, testKey, with("aud", "x")),
		"no sub":           sign(jwt.SigningMethodHS256, testKey, with("sub", nil)),
		"iat string":       sign(jwt.SigningMethodHS256, testKey, with("iat", fmt.Sprint(now.Unix()))),
		"exp string":       sign(jwt.SigningMethodHS256, testKey, with("exp", fmt.Sprint(now.Add(time.Hour).Unix()))),
		"nbf string":       sign(jwt.SigningMethodHS256, testKey, with("nbf", fmt.Sprint(now.Unix()))),
		"auth_time string": sign(jwt.SigningMethodHS256, testKey, with("auth_time", fmt.Sprint(now.Unix()))),
		"iat null":         sign(jwt.SigningMethodHS256, testKey, with("iat", json.RawMessage("null"))),
		"garbage":          "a.b.c",
		"empty":            "",
	}
	for name, tok := range cases {
		_, err := s.VerifySession(context.Background(), tok)
		if name == "valid control" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s: error %v, want ErrUnauthorized", name, err)
		}
	}
}

type verifierFunc func(ctx context.Context, token string) (User, error)

func (f verifierFunc) VerifySession(ctx context.Context, token string) (User, error) {
	return f(ctx, token)
}

func TestRequireSession(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, found := UserFromContext(r.Context())
		if !found {
			t.Error("no user in context")
		}
		w.Write([]byte(u.ID))
	})
	v := verifierFunc(func(_ context.Context, token string) (User, error) {
		switch token {
		case "good":
			return User{ID: "usr_1"}, nil
		case "down":
			return User{}, &Error{Status: 503, Code: "session_store_down", Title: "Unavailable", Detail: "Try later."}
		case "noid":
			return User{}, nil
		}
		return User{}, errors.New("no such session")
	})
	h := RequireSession(v, ok)
	for _, tc := range []struct {
		header string
		status int
		body   string
	}{
		{"Bearer good", 200, "usr_1"},
		{"bearer good", 200, "usr_1"},
		{"Bearer bad", 503, `"code":"unavailable"`}, // a plain verifier error is its own failure,
		{"Bearer noid", 401, `"code":"unauthorized"`},
		{"Bearer down", 503, `"code":"session_store_down"`},
		{"", 401, `"code":"unauthorized"`},
		{"Token good", 401, `"code":"unauthorized"`},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%q: %d %s, want %d with %s", tc.header, rec.Code, rec.Body, tc.status, tc.body)
		}
		if _, found := UserFromContext(req.Context()); found {
			t.Error("user leaked into the original request")
		}
	}
}

// iat may be a moment in the future (another instance's clock is ahead)
// but not more than ClockSkew, and a token may not claim a longer life
// than Lifetime plus ClockSkew, even when signed with the key.
func TestJWTSessionsTimeBounds(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sign := func(c jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(testKey)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	claims := func(iat time.Time, life time.Duration) jwt.MapClaims {
		return jwt.MapClaims{"sub": "usr_1", "iss": "passkeys", "aud": "passkeys", "iat": iat.Unix(), "exp": iat.Add(life).Unix()}
	}
	noIAT := claims(now, time.Hour)
	delete(noIAT, "iat")
	for _, tc := range []struct {
		name string
		skew time.Duration
		tok  string
		ok   bool
	}{
		{"issued now", 0, sign(claims(now, time.Hour)), true},
		{"issued a moment ahead", 0, sign(claims(now.Add(30*time.Second), time.Hour)), true},
		{"issued at the skew", 0, sign(claims(now.Add(DefaultJWTClockSkew), time.Hour)), true},
		{"issued beyond the skew", 0, sign(claims(now.Add(DefaultJWTClockSkew+time.Second), time.Hour)), false},
		{"issued far ahead", 0, sign(claims(now.Add(24*time.Hour), time.Hour)), false},
		{"issued ahead, wider skew", 5 * time.Minute, sign(claims(now.Add(4*time.Minute), time.Hour)), true},
		{"no iat", 0, sign(noIAT), false},
		{"life within the skew", 0, sign(claims(now.Add(-time.Minute), time.Hour+DefaultJWTClockSkew)), true},
		{"life a day", 0, sign(claims(now.Add(-time.Minute), 24*time.Hour)), false},
		{"life ten years", 0, sign(claims(now.Add(-time.Minute), 10*365*24*time.Hour)), false},
		{"life just over", 0, sign(claims(now.Add(-time.Minute), time.Hour+DefaultJWTClockSkew+time.Second)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewJWTSessions(JWTOptions{Key: testKey, Clock: clock, ClockSkew: tc.skew})
			if err != nil {
				t.Fatal(err)
			}
			u, err := s.VerifySession(context.Background(), tc.tok)
			switch {
			case tc.ok && (err != nil || u.ID != "usr_1"):
				t.Errorf("refused: %v", err)
			case !tc.ok && !errors.Is(err, ErrUnauthorized):
				t.Errorf("accepted or wrong error: %+v, %v", u, err)
			}
		})
	}
	if _, err := NewJWTSessions(JWTOptions{Key: testKey, ClockSkew: -time.Second}); err == nil || !strings.Contains(err.Error(), "skew") {
		t.Errorf("negative skew: %v", err)
	}
}

type lookupFunc func(ctx context.Context, id string) (User, error)

func (f lookupFunc) LookupUser(ctx context.Context, id string) (User, error) { return f(ctx, id) }

// With a Lookup the user is the account as it is now, looked up by sub
// alone: the token's email is not used, a gone account is 401, an outage
// stays a 5xx.
func TestJWTSessionsLookup(t *testing.T) {
	accounts := map[string]User{"usr_1": {ID: "usr_1", Email: "new@example.com"}}
	var asked []string
	lookup := lookupFunc(func(_ context.Context, id string) (User, error) {
		asked = append(asked, id)
		switch id {
		case "usr_down":
			return User{}, ErrUnavailable.With("", errors.New("connection refused"))
		case "usr_bug":
			return User{}, errors.New("no such table")
		case "usr_notfound":
			return User{}, ErrNotFound
		case "usr_other":
			return User{ID: "usr_1"}, nil
		}
		u, ok := accounts[id]
		if !ok {
			return User{}, ErrUnauthorized.With("The account no longer exists.", nil)
		}
		return u, nil
	})
	s, err := NewJWTSessions(JWTOptions{Key: testKey, Lookup: lookup})
	if err != nil {
		t.Fatal(err)
	}
	issue := func(u User) string {
		tok, err := s.IssueSession(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	u, err := s.VerifySession(context.Background(), issue(User{ID: "usr_1", Email: "old@example.com"}))
	if err != nil || u != accounts["usr_1"] {
		t.Errorf("VerifySession = %+v, %v; want the account as it is now", u, err)
	}
	for _, tc := range []struct {
		id     string
		status int
		detail string
	}{
		{"usr_gone", 401, "The account no longer exists."},
		{"usr_notfound", 401, "The account of this session no longer exists."},
		{"usr_other", 401, "The session token is invalid."},
		{"usr_down", 503, "The service is briefly unavailable; try again shortly."},
		{"usr_bug", 500, "An internal error occurred."},
	} {
		_, err := s.VerifySession(context.Background(), issue(User{ID: tc.id, Email: "a@example.com"}))
		var e *Error
		if !errors.As(err, &e) || e.Status != tc.status || e.Detail != tc.detail {
			t.Errorf("%s: %v, want %d %q", tc.id, err, tc.status, tc.detail)
		}
	}
	// A token that fails its own checks is refused before the lookup.
	asked = nil
	if _, err := s.VerifySession(context.Background(), "a.b.c"); !errors.Is(err, ErrUnauthorized) || len(asked) != 0 {
		t.Errorf("garbage: %v, looked up %v", err, asked)
	}
}
