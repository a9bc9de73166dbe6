package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
)

// eventTests are the entries of Run for Options.Events.
var eventTests = []struct {
	name string
	fn   func(*testing.T, Setup)
}{
	{"EventsInOrder", testEventsInOrder},
}

// eventLog records a handler's events.
type eventLog struct {
	mu     sync.Mutex
	events []passkeys.Event
}

func (l *eventLog) HandleEvent(_ context.Context, e passkeys.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

// take waits for h's queued events and returns, as "kind endpoint
// [detail]" lines, those recorded since the last take.
func (l *eventLog) take(t *testing.T, h *passkeys.Handler) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.FlushEvents(ctx); err != nil {
		t.Fatalf("FlushEvents: %v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		line := string(e.Kind) + " " + e.Endpoint
		fields := []string{string(e.Method), e.Ceremony, e.Reason}
		if e.Kind == passkeys.EventRequest {
			fields = []string{fmt.Sprint(e.Status), e.Code}
		}
		for _, f := range fields {
			if f != "" {
				line += " " + f
			}
		}
		out = append(out, line)
	}
	l.events = nil
	return out
}

// testEventsInOrder runs each flow and checks the events it emits, in
// order: sign-up, passkey added, login by button and by autofill, a wrong
// code, a failed verification, passkey removed, a session revoked, logout,
// a rate limit, account deletion.
func testEventsInOrder(t *testing.T, setup Setup) {
	ctx := t.Context()
	log := &eventLog{}
	s := newStoreServer(t, setup, func(o *passkeys.Options) {
		o.Events = log
		o.EmailLimit = passkeys.Rate{Events: 3, Per: time.Hour}
	})
	step := func(what string, want ...string) {
		t.Helper()
		got := log.take(t, s.handler)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: events\n\t%s\nwant\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
	const email = "events@example.com"
	a := s.signUp(email)
	step("sign-up",
		"code_sent /signUpOrLogin sign_in", "request /signUpOrLogin 200",
		"sign_up /signUpOrLogin otp", "login /signUpOrLogin otp", "session_created /signUpOrLogin otp", "request /signUpOrLogin 200")

	if err := s.addPasskey(a); err != nil {
		t.Fatal(err)
	}
	step("passkey added", "request /passkey/append/start 200", "passkey_added /passkey/append/finish", "request /passkey/append/finish 200")

	if _, err := a.c.LoginWithPasskey(ctx, email); err != nil {
		t.Fatal(err)
	}
	step("passkey login", "request /passkey/login/start 200",
		"login /passkey/login/finish passkey", "session_created /passkey/login/finish passkey", "request /passkey/login/finish 200")

	other, err := a.c.LoginWithAutofill(ctx)
	if err != nil {
		t.Fatal(err)
	}
	step("autofill login", "request /passkey/mediation/start 200",
		"login /passkey/mediation/finish autofill", "session_created /passkey/mediation/finish autofill", "request /passkey/mediation/finish 200")

	if err := s.requestCode(email); err != nil {
		t.Fatal(err)
	}
	check(t, "wrong code", s.submitCode(email, wrongCode(s.lastCode(email))), 401, "otp_invalid")
	step("wrong code", "code_sent /signUpOrLogin sign_in", "request /signUpOrLogin 200",
		"code_failed /signUpOrLogin sign_in", "request /signUpOrLogin 401 otp_invalid")

	cer, err := a.c.StartLogin(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.auth.Get(cer.Options, passkeystest.Tamper{BadSignature: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.c.FinishLogin(ctx, resp)
	check(t, "bad signature", err, 401, "passkey_verification_failed")
	_, err = a.c.FinishLogin(ctx, resp)
	check(t, "used ceremony", err, 401, "passkey_verification_failed")
	step("verification failed", "request /passkey/login/start 200",
		"verification_failed /passkey/login/finish login invalid", "request /passkey/login/finish 401 passkey_verification_failed",
		"verification_failed /passkey/login/finish login ceremony", "request /passkey/login/finish 401 passkey_verification_failed")

	var otherID string
	for _, si := range s.sessions(other.Token) {
		if si.Current {
			otherID = si.ID
		}
	}
	log.take(t, s.handler)
	check(t, "revoke", a.c.RevokeSession(ctx, a.token, otherID), 204, "")
	step("session revoked", "session_revoked /sessions/{id} revoked", "request /sessions/{id} 204")

	list := s.passkeys(a)
	log.take(t, s.handler)
	check(t, "delete passkey", a.c.DeletePasskey(ctx, a.token, list[0].ID), 204, "")
	deleted := "request /passkeys/{id} 204"
	if s.signals {
		deleted = "request /passkeys/{id} 200" // with the Signal API data
	}
	step("passkey removed", "passkey_removed /passkeys/{id}", deleted)

	if err := s.requestCode(email); err != nil {
		t.Fatal(err)
	}
	check(t, "fourth code", s.requestCode(email), 429, "too_many_attempts")
	step("rate limit", "code_sent /signUpOrLogin sign_in", "request /signUpOrLogin 200",
		"rate_limited /signUpOrLogin email", "request /signUpOrLogin 429 too_many_attempts")

	b := s.signUp("second@example.com")
	log.take(t, s.handler)
	check(t, "logout", b.c.Logout(ctx, b.token), 204, "")
	step("logout", "session_revoked /logout logout", "request /logout 204")

	check(t, "delete account", a.c.DeleteAccount(ctx, a.token), 204, "")
	step("account deleted", "account_deleted /account", "request /account 204")
}
