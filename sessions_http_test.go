package passkeys_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
)

const (
	uaLaptop = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
	uaPhone  = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)

// POST logout revokes the presented session and no other: the token gets
// 401 from the next request on, on the handler's routes and on the host's
// own, while the user's other session goes on. Logging out again with
// the revoked token is 401, and logout takes only POST.
func TestLogoutRevokesThePresentedSession(t *testing.T) {
	r := newHTTPRig(t, rigOptions{})
	a := r.signIn("ann@example.com", uaLaptop)
	b := r.signIn("ann@example.com", uaPhone)

	wantProblem(t, "GET logout", r.do(http.MethodGet, "/auth/logout", a.Token, ""), http.StatusMethodNotAllowed, "method_not_allowed")
	wantProblem(t, "logout without a token", r.do(http.MethodPost, "/auth/logout", "", "{}"), http.StatusUnauthorized, "unauthorized")
	if got := len(r.stored(a.User.ID)); got != 2 {
		t.Fatalf("%d sessions stored after the refused logouts, want 2", got)
	}

	p := r.do(http.MethodPost, "/auth/logout", a.Token, "{}")
	wantStatus(t, "logout", p, http.StatusNoContent)
	if len(p.Body) != 0 || p.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("logout answered body %q, Cache-Control %q; want none and no-store", p.Body, p.Header.Get("Cache-Control"))
	}
	wantProblem(t, "/api/me after logout", r.me(a.Token), http.StatusUnauthorized, "unauthorized")
	wantProblem(t, "GET passkeys after logout", r.do(http.MethodGet, "/auth/passkeys", a.Token, ""), http.StatusUnauthorized, "unauthorized")
	wantProblem(t, "logout with the revoked token", r.do(http.MethodPost, "/auth/logout", a.Token, "{}"), http.StatusUnauthorized, "unauthorized")
	wantStatus(t, "/api/me with the other session", r.me(b.Token), http.StatusOK)
	if got := sessionIDs(r.stored(a.User.ID)); len(got) != 1 || got[0] != currentID(r.sessionList(b.Token)) {
		t.Errorf("sessions stored after logout: %v, want the phone's only", got)
	}
}

// GET sessions lists the caller's live sessions, newest first, with the
// fields of the README, marks the request's own as current, and shows
// nobody else's.
func TestSessionsList(t *testing.T) {
	r := newHTTPRig(t, rigOptions{})
	laptop := r.signIn("ann@example.com", uaLaptop)
	r.clock.Advance(time.Minute)
	phone := r.signIn("ann@example.com", uaPhone)
	other := r.signIn("bob@example.com", uaLaptop)

	list := r.sessionList(laptop.Token)
	if len(list) != 2 {
		t.Fatalf("GET sessions = %+v, want ann's two", list)
	}
	if list[0].UserAgent != uaPhone || list[1].UserAgent != uaLaptop {
		t.Errorf("user agents %q, %q; want the phone's (newest) first", list[0].UserAgent, list[1].UserAgent)
	}
	if list[0].Current || !list[1].Current {
		t.Errorf("current flags %v, %v; want the laptop's session only", list[0].Current, list[1].Current)
	}
	if !list[1].CreatedAt.Equal(r.clock.Now().Add(-time.Minute)) || !list[0].CreatedAt.Equal(r.clock.Now()) {
		t.Errorf("createdAt %v, %v; want the sign-in times", list[0].CreatedAt, list[1].CreatedAt)
	}
	for _, s := range list {
		if len(s.ID) < 16 || strings.Contains(s.ID, selfhosted.SessionTokenPrefix) || s.ID == laptop.Token || s.ID == phone.Token {
			t.Errorf("session id %q: want a random id that is not the token", s.ID)
		}
	}
	if got := r.sessionList(phone.Token); currentID(got) != list[0].ID {
		t.Errorf("listed with the phone's token, current is %q, want %q", currentID(got), list[0].ID)
	}
	if got := r.sessionList(other.Token); len(got) != 1 || slices.Contains(sessionIDs(list), got[0].ID) {
		t.Errorf("bob's sessions %+v include ann's", got)
	}
	raw := r.do(http.MethodGet, "/auth/sessions", laptop.Token, "").json(t)
	first := raw["sessions"].([]any)[0].(map[string]any)
	for _, k := range []string{"id", "createdAt", "lastSeenAt", "userAgent", "current", "authentication"} {
		if _, ok := first[k]; !ok {
			t.Errorf("a listed session has no %q: %v", k, first)
		}
	}
	wantProblem(t, "POST sessions", r.do(http.MethodPost, "/auth/sessions", laptop.Token, "{}"), http.StatusMethodNotAllowed, "method_not_allowed")
	wantProblem(t, "GET sessions without a token", r.do(http.MethodGet, "/auth/sessions", "", ""), http.StatusUnauthorized, "unauthorized")
}

// DELETE sessions/{id} ends one of the caller's own sessions. Every bad
// request gets its problem and leaves every session as it was: an unknown
// or malformed id, another user's session, a stale sign-in for another
// session, a wrong method. The caller's own session needs no recent
// sign-in: ending it is a logout.
func TestDeleteSession(t *testing.T) {
	r := newHTTPRig(t, rigOptions{})
	ann := r.signIn("ann@example.com", uaLaptop)
	annPhone := r.signIn("ann@example.com", uaPhone)
	bob := r.signIn("bob@example.com", uaLaptop)
	annIDs := sessionIDs(r.stored(ann.User.ID))
	bobID := r.stored(bob.User.ID)[0].ID
	var phoneID string
	for _, s := range r.sessionList(annPhone.Token) {
		if s.Current {
			phoneID = s.ID
		}
	}
	unchanged := func(what string) {
		t.Helper()
		if got := sessionIDs(r.stored(ann.User.ID)); !slices.Equal(got, annIDs) {
			t.Errorf("%s: ann's sessions %v, want %v", what, got, annIDs)
		}
		if got := sessionIDs(r.stored(bob.User.ID)); len(got) != 1 || got[0] != bobID {
			t.Errorf("%s: bob's sessions %v, want [%s]", what, got, bobID)
		}
		wantStatus(t, what+": bob's token", r.me(bob.Token), http.StatusOK)
	}

	for _, tc := range []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown id", http.MethodDelete, "/auth/sessions/" + strings.Repeat("A", len(bobID)), http.StatusNotFound, "not_found"},
		{"another user's session", http.MethodDelete, "/auth/sessions/" + bobID, http.StatusNotFound, "not_found"},
		{"malformed id", http.MethodDelete, "/auth/sessions/not%20an%20id", http.StatusNotFound, "not_found"},
		{"overlong id", http.MethodDelete, "/auth/sessions/" + strings.Repeat("A", 300), http.StatusBadRequest, "invalid_request"},
		{"id with a slash", http.MethodDelete, "/auth/sessions/a/b", http.StatusNotFound, "not_found"},
		{"GET a session", http.MethodGet, "/auth/sessions/" + phoneID, http.StatusMethodNotAllowed, "method_not_allowed"},
		{"POST a session", http.MethodPost, "/auth/sessions/" + phoneID, http.StatusMethodNotAllowed, "method_not_allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, tc.name, r.do(tc.method, tc.path, ann.Token, ""), tc.status, tc.code)
			unchanged(tc.name)
		})
	}
	wantProblem(t, "without a token", r.do(http.MethodDelete, "/auth/sessions/"+phoneID, "", ""), http.StatusUnauthorized, "unauthorized")
	unchanged("without a token")

	// Eleven minutes on, ann's sign-ins are stale: another session is
	// refused, her own is ended.
	r.clock.Advance(passkeys.DefaultReauthenticationAge + time.Minute)
	wantProblem(t, "stale: another session", r.do(http.MethodDelete, "/auth/sessions/"+phoneID, ann.Token, ""), http.StatusForbidden, "reauthentication_required")
	unchanged("stale: another session")
	wantStatus(t, "stale: own session", r.do(http.MethodDelete, "/auth/sessions/"+phoneID, annPhone.Token, ""), http.StatusNoContent)
	wantProblem(t, "the ended session's token", r.me(annPhone.Token), http.StatusUnauthorized, "unauthorized")
	if got := r.stored(ann.User.ID); len(got) != 1 || got[0].ID == phoneID {
		t.Errorf("ann's sessions after ending her phone's: %+v", got)
	}

	// A fresh sign-in may end another session, which is refused from the
	// next request on.
	fresh := r.signIn("ann@example.com", uaPhone)
	wantStatus(t, "fresh: another session", r.do(http.MethodDelete, "/auth/sessions/"+r.stored(ann.User.ID)[1].ID, fresh.Token, ""), http.StatusNoContent)
	wantProblem(t, "the revoked laptop token", r.me(ann.Token), http.StatusUnauthorized, "unauthorized")
	wantStatus(t, "the fresh token", r.me(fresh.Token), http.StatusOK)
}

// Options.ReauthenticationAge sets how recent a sign-in must be; a
// negative value switches the check off.
func TestReauthenticationAgeOption(t *testing.T) {
	for _, tc := range []struct {
		name  string
		age   time.Duration
		after time.Duration
		want  int
	}{
		{"one hour, 59 minutes on", time.Hour, 59 * time.Minute, http.StatusNoContent},
		{"one hour, 61 minutes on", time.Hour, 61 * time.Minute, http.StatusForbidden},
		{"off, a day on", -1, 24 * time.Hour, http.StatusNoContent},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newHTTPRig(t, rigOptions{tweak: func(o *passkeys.Options) { o.ReauthenticationAge = tc.age }})
			ann := r.signIn("ann@example.com", uaLaptop)
			phone := r.signIn("ann@example.com", uaPhone)
			var phoneID string
			for _, s := range r.sessionList(phone.Token) {
				if s.Current {
					phoneID = s.ID
				}
			}
			r.clock.Advance(tc.after)
			p := r.do(http.MethodDelete, "/auth/sessions/"+phoneID, ann.Token, "")
			if tc.want == http.StatusForbidden {
				wantProblem(t, "revoke", p, tc.want, "reauthentication_required")
				wantStatus(t, "the phone's token", r.me(phone.Token), http.StatusOK)
				return
			}
			wantStatus(t, "revoke", p, tc.want)
			wantProblem(t, "the phone's token", r.me(phone.Token), http.StatusUnauthorized, "unauthorized")
		})
	}
}
