package passkeys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
)

// api returns a client of the rig's emulator.
func (r *corbadoRig) api() *corbadoapi.Client {
	return corbadoapi.New(corbadoapi.Config{BaseURL: r.emuURL, ProjectID: r.emu.ProjectID(), APISecret: r.emu.APISecret()})
}

// userID returns the Corbado user ID of email.
func (r *corbadoRig) userID(email string) string {
	r.t.Helper()
	l, err := r.api().IdentifierList(context.Background(), corbadoapi.ListParams{Filter: []string{"identifierValue:eq:" + email}})
	if err != nil || len(l.Identifiers) != 1 {
		r.t.Fatalf("identifier of %s: %+v, %v", email, l, err)
	}
	return l.Identifiers[0].UserID
}

// withPasskey signs email up and adds a passkey; it returns the session
// token and the authenticator holding the passkey.
func (r *corbadoRig) withPasskey(email string) (string, *passkeystest.Authenticator) {
	r.t.Helper()
	token := r.signUp(email)
	auth := passkeystest.New(e2e.Origin)
	res := r.do("POST", "/passkey/append/start", map[string]any{}, token)
	att, err := auth.Create(res.object("attestationOptions"))
	if err != nil {
		r.t.Fatal(err)
	}
	if res := r.do("POST", "/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token); res.status != 200 {
		r.t.Fatalf("append finish: %d %s", res.status, res.raw)
	}
	return token, auth
}

// expectRefused checks a 401 answer that issued no session.
func expectRefused(t *testing.T, what string, res rigResponse, code, detail string) {
	t.Helper()
	if res.status != 401 || res.body["code"] != code || !strings.Contains(fmt.Sprint(res.body["detail"]), detail) {
		t.Errorf("%s: %d %s, want 401 %s %q", what, res.status, res.raw, code, detail)
	}
	if strings.Contains(string(res.raw), "sessionToken") {
		t.Errorf("%s: a session was issued: %s", what, res.raw)
	}
}

// expectLoginsRefused finishes the button login and the conditional one
// started in login and mediation with auth's assertions, and checks that
// each is refused by expectRefused as unauthorized with detail.
func (r *corbadoRig) expectLoginsRefused(auth *passkeystest.Authenticator, login, mediation rigResponse, detail string) {
	r.t.Helper()
	for _, tc := range []struct {
		name, path string
		options    rigResponse
	}{
		{"login finish", "/passkey/login/finish", login},
		{"mediation finish", "/passkey/mediation/finish", mediation},
	} {
		resp, err := auth.Get(tc.options.object("assertionOptions"))
		if err != nil {
			r.t.Fatal(err)
		}
		expectRefused(r.t, tc.name, r.do("POST", tc.path, map[string]json.RawMessage{"assertionResponse": resp}, ""), "unauthorized", detail)
	}
}

// A disabled Corbado user gets no session and no passkey, whichever way
// they come: the emulator refuses the finishes, as its starts do.
func TestCorbadoDisabledUser(t *testing.T) {
	r := newCorbadoRig(t, nil)
	const email = "disabled@example.com"
	token, auth := r.withPasskey(email)
	// Every ceremony starts while the account is still active.
	login := r.do("POST", "/passkey/login/start", map[string]string{"email": email}, "")
	mediation := r.do("POST", "/passkey/mediation/start", map[string]any{}, "")
	appendStart := r.do("POST", "/passkey/append/start", map[string]any{}, token)
	for _, res := range []rigResponse{login, mediation, appendStart} {
		if res.status != 200 {
			t.Fatalf("start: %d %s", res.status, res.raw)
		}
	}
	if _, err := r.api().UserUpdate(context.Background(), r.userID(email), corbadoapi.UserUpdateReq{Status: corbadoapi.UserDisabled}); err != nil {
		t.Fatal(err)
	}

	resp, err := auth.Get(login.object("assertionOptions"))
	if err != nil {
		t.Fatal(err)
	}
	expectRefused(t, "login finish", r.do("POST", "/passkey/login/finish", map[string]json.RawMessage{"assertionResponse": resp}, ""), "passkey_verification_failed", "")
	resp, err = auth.Get(mediation.object("assertionOptions"))
	if err != nil {
		t.Fatal(err)
	}
	expectRefused(t, "mediation finish", r.do("POST", "/passkey/mediation/finish", map[string]json.RawMessage{"assertionResponse": resp}, ""), "passkey_verification_failed", "")
	att, err := passkeystest.New(e2e.Origin).Create(appendStart.object("attestationOptions"))
	if err != nil {
		t.Fatal(err)
	}
	expectRefused(t, "append finish", r.do("POST", "/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token), "unauthorized", "This account is disabled.")
	// The session of a disabled account is refused by the guard too, so
	// the passkeys are counted at Corbado.
	expectRefused(t, "list", r.do("GET", "/passkeys", nil, token), "unauthorized", "This account is disabled.")
	if l, err := r.api().CredentialList(context.Background(), r.userID(email), corbadoapi.ListParams{}); err != nil || len(l.Credentials) != 1 {
		t.Errorf("passkeys after the refused append: %+v, %v", l, err)
	}

	if res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, ""); res.status != 200 {
		t.Fatalf("request code: %d %s", res.status, res.raw)
	}
	codes := r.env.Mailbox.Codes(email)
	expectRefused(t, "code", r.do("POST", "/signUpOrLogin", map[string]string{"email": email, "otp": codes[len(codes)-1]}, ""), "unauthorized", "This account is disabled.")
}

// The backend itself refuses a passkey login of a user Corbado does not
// list as active, even when Corbado verified the passkey.
func TestCorbadoPasskeyLoginChecksStatus(t *testing.T) {
	r := newCorbadoRig(t, nil)
	const email = "inactive@example.com"
	_, auth := r.withPasskey(email)
	id := r.userID(email)
	login := r.do("POST", "/passkey/login/start", map[string]string{"email": email}, "")
	mediation := r.do("POST", "/passkey/mediation/start", map[string]any{}, "")
	// Corbado answers the status lookup with a disabled account.
	gets := r.breakAPI("GET", "/users/"+id, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"userID":"`+id+`","status":"disabled","updated":"2030-01-02T03:04:05","updatedMs":1893553445000}`)
	})
	r.expectLoginsRefused(auth, login, mediation, "This account is disabled.")
	if n := gets.Load(); n != 2 {
		t.Errorf("the status was looked up %d times, want 2", n)
	}
}
