package e2e

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/passkeyready/passkeys"
)

var hintTests = []struct {
	name string
	fn   func(*testing.T, Setup)
}{
	{"Hints", testHints},
}

// startCounter is a Backend that counts the start calls that reach it
// and the hints they carry.
type startCounter struct {
	passkeys.Backend
	starts atomic.Int32
}

func (b *startCounter) StartAppend(ctx context.Context, u passkeys.User, c passkeys.Client) (passkeys.AppendStart, error) {
	b.starts.Add(1)
	return b.Backend.StartAppend(ctx, u, c)
}

func (b *startCounter) StartLogin(ctx context.Context, email string, c passkeys.Client) (passkeys.LoginStart, error) {
	b.starts.Add(1)
	return b.Backend.StartLogin(ctx, email, c)
}

func (b *startCounter) StartMediation(ctx context.Context, c passkeys.Client) (passkeys.LoginStart, error) {
	b.starts.Add(1)
	return b.Backend.StartMediation(ctx, c)
}

// testHints: the hints a start asks for reach the options' publicKey in
// order, the ceremony still finishes, and bad hints, or hints where no
// dialog shows (autofill, a conditional create), are 400 invalid_request
// before the backend is called. The suite's backends have no default
// hints, so options without asked-for hints carry none.
func testHints(t *testing.T, setup Setup) {
	var counter *startCounter
	s := newServer(t, setup, func(o *passkeys.Options) {
		counter = &startCounter{Backend: o.Backend}
		o.Backend = counter
	})
	ctx := t.Context()
	a := s.signUp("hints@example.com")

	if got := field(s.appendOptions(a), "publicKey", "hints"); got != nil {
		t.Errorf("append options without asked-for hints carry hints %v", got)
	}
	cer, err := a.c.StartAppendWithHints(ctx, a.token, []string{passkeys.HintHybrid, passkeys.HintSecurityKey})
	check(t, "append start with hints", err, 200, "")
	if diff := cmp.Diff([]any{"hybrid", "security-key"}, field(cer.Options, "publicKey", "hints")); diff != "" {
		t.Errorf("append options publicKey.hints (-want +got):\n%s\n%s", diff, cer.Options)
	}
	check(t, "append finish after hints", s.finishAppend(a, must(a.auth.Create(cer.Options))), 200, "")

	if got := field(s.loginOptions(a), "publicKey", "hints"); got != nil {
		t.Errorf("login options without asked-for hints carry hints %v", got)
	}
	cer, err = s.c.StartLoginWithHints(ctx, a.email, []string{passkeys.HintClientDevice})
	check(t, "login start with hints", err, 200, "")
	if diff := cmp.Diff([]any{"client-device"}, field(cer.Options, "publicKey", "hints")); diff != "" {
		t.Errorf("login options publicKey.hints (-want +got):\n%s\n%s", diff, cer.Options)
	}
	_, err = s.finish("login", assertion(t, a.auth, cer.Options))
	check(t, "login finish after hints", err, 200, "")
	if got := field(s.mediationOptions(), "publicKey", "hints"); got != nil {
		t.Errorf("autofill options carry hints %v", got)
	}

	before := counter.starts.Load()
	for _, tc := range []struct {
		name  string
		hints any
	}{
		{"a string", "hybrid"},
		{"an object", map[string]any{"hybrid": true}},
		{"null", nil},
		{"empty", []string{}},
		{"unknown value", []string{"platform"}},
		{"wrong case", []string{"Hybrid"}},
		{"a number", []any{1}},
		{"duplicate", []string{"hybrid", "security-key", "hybrid"}},
		{"four", []string{"hybrid", "security-key", "client-device", "hybrid"}},
	} {
		r := s.post("/auth/passkey/append/start", map[string]any{"hints": tc.hints}, a.token)
		expect(t, "append start, hints "+tc.name, r, 400, "invalid_request")
		r = s.post("/auth/passkey/login/start", map[string]any{"email": a.email, "hints": tc.hints}, "")
		expect(t, "login start, hints "+tc.name, r, 400, "invalid_request")
	}
	for _, tc := range []struct {
		what, path, token string
		body              map[string]any
	}{
		{"autofill start", "/auth/passkey/mediation/start", "", map[string]any{"hints": []string{"client-device"}}},
		{"conditional create start", "/auth/passkey/append/start", a.token, map[string]any{"mediation": "conditional", "hints": []string{"client-device"}}},
	} {
		r := s.post(tc.path, tc.body, tc.token)
		expect(t, tc.what+" with hints", r, 400, "invalid_request")
	}
	if got := counter.starts.Load(); got != before {
		t.Errorf("refused hints reached the backend: %d start calls", got-before)
	}
	if list := s.passkeys(a); len(list) != 1 {
		t.Errorf("passkeys after refused starts: %d, want 1", len(list))
	}
	r := s.post("/auth/passkey/append/start", map[string]any{"hints": []string{"hybrid", "hybrid"}}, a.token)
	if want := `hints names "hybrid" twice.`; r.str("detail") != want {
		t.Errorf("duplicate hint detail %q, want %q", r.str("detail"), want)
	}
	r = s.post("/auth/passkey/append/start", map[string]any{"hints": []string{"platform"}}, a.token)
	if want := fmt.Sprintf(`hints holds "platform", which is not a hint; use %q, %q or %q.`, "security-key", "client-device", "hybrid"); r.str("detail") != want {
		t.Errorf("unknown hint detail %q, want %q", r.str("detail"), want)
	}
}
