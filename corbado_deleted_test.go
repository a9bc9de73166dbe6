package passkeys_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest"
)

// Real Corbado answers a deleted user with HTTP 400 "userID: does not
// exist" (so does the emulator); the backend takes that for what it
// means. Every session route of a deleted account is 401 unauthorized,
// and so is a passkey login of it, whichever way it comes.
func TestCorbadoDeletedAccount(t *testing.T) {
	r := newCorbadoRig(t, nil)
	const email = "deleted@example.com"
	token, auth := r.withPasskey(email)
	list := r.do("GET", "/passkeys", nil, token)
	pks, _ := list.body["passkeys"].([]any)
	if list.status != 200 || len(pks) != 1 {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	pkID, _ := pks[0].(map[string]any)["id"].(string)
	// Every ceremony starts while the account still exists.
	login := r.do("POST", "/passkey/login/start", map[string]string{"email": email}, "")
	mediation := r.do("POST", "/passkey/mediation/start", map[string]any{}, "")
	appendStart := r.do("POST", "/passkey/append/start", map[string]any{}, token)
	for _, res := range []rigResponse{login, mediation, appendStart} {
		if res.status != 200 {
			t.Fatalf("start: %d %s", res.status, res.raw)
		}
	}
	if err := r.api().UserDelete(context.Background(), r.userID(email)); err != nil {
		t.Fatal(err)
	}

	const gone = "no longer exists"
	expectRefused(t, "list", r.do("GET", "/passkeys", nil, token), "unauthorized", gone)
	expectRefused(t, "delete", r.do("DELETE", "/passkeys/"+pkID, nil, token), "unauthorized", gone)
	expectRefused(t, "append start", r.do("POST", "/passkey/append/start", map[string]any{}, token), "unauthorized", gone)
	att, err := passkeystest.New(e2e.Origin).Create(appendStart.object("attestationOptions"))
	if err != nil {
		t.Fatal(err)
	}
	expectRefused(t, "append finish", r.do("POST", "/passkey/append/finish", map[string]json.RawMessage{"attestationResponse": att}, token), "unauthorized", gone)
	r.expectLoginsRefused(auth, login, mediation, gone)
	if res := r.do("POST", "/passkey/login/start", map[string]string{"email": email}, ""); res.status != 200 || res.body["loginAllow"] != false {
		t.Errorf("login start for the deleted account: %d %s", res.status, res.raw)
	}
}

// A code in flight for an account deleted meanwhile is used up: the check
// fails, and the next request sends a new code at once, which signs a new
// account up.
func TestCorbadoCodeOfDeletedAccount(t *testing.T) {
	r := newCorbadoRig(t, nil)
	const email = "again@example.com"
	r.signUp(email)
	old := r.userID(email)
	if res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, ""); res.status != 200 {
		t.Fatalf("request code: %d %s", res.status, res.raw)
	}
	codes := r.env.Mailbox.Codes(email)
	if err := r.api().UserDelete(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email, "otp": codes[len(codes)-1]}, "")
	if res.status != 401 || res.body["code"] != "otp_invalid" {
		t.Errorf("code of the deleted account: %d %s", res.status, res.raw)
	}
	if res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, ""); res.status != 200 {
		t.Fatalf("request a new code: %d %s", res.status, res.raw)
	}
	if n := len(r.env.Mailbox.Codes(email)); n != len(codes)+1 {
		t.Fatalf("%d codes mailed, want %d: the cooldown of the dead code held the new one back", n, len(codes)+1)
	}
	codes = r.env.Mailbox.Codes(email)
	res = r.do("POST", "/signUpOrLogin", map[string]string{"email": email, "otp": codes[len(codes)-1]}, "")
	if res.status != 200 || res.body["newUser"] != true {
		t.Errorf("new code: %d %s", res.status, res.raw)
	}
	if id := r.userID(email); id == old {
		t.Errorf("the new account has the deleted user's ID %s", id)
	}
}

// A user deleted between finding the email's identifier and sending the
// code is replaced by a new one, and the code reaches the email.
func TestCorbadoUserDeletedWhileSending(t *testing.T) {
	r := newCorbadoRig(t, nil)
	const email = "race-delete@example.com"
	r.signUp(email)
	old := r.userID(email)
	api := r.api()
	creates := r.breakAPI("POST", "/users/*/challenges", func(w http.ResponseWriter, req *http.Request) {
		if err := api.UserDelete(req.Context(), old); err != nil {
			t.Error(err)
		}
		// Answer as the emulator does now, for the deleted user.
		r.emu.SetIntercept(nil)
		r.emu.ServeHTTP(w, req)
	})
	res := r.do("POST", "/signUpOrLogin", map[string]string{"email": email}, "")
	if res.status != 200 {
		t.Fatalf("request code: %d %s", res.status, res.raw)
	}
	if n := creates.Load(); n != 1 {
		t.Errorf("%d intercepted challenge creations, want 1", n)
	}
	codes := r.env.Mailbox.Codes(email)
	res = r.do("POST", "/signUpOrLogin", map[string]string{"email": email, "otp": codes[len(codes)-1]}, "")
	if res.status != 200 || res.body["newUser"] != true {
		t.Errorf("code after the user was deleted while sending: %d %s", res.status, res.raw)
	}
	if id := r.userID(email); id == old {
		t.Errorf("the code went to the deleted user %s", id)
	}
}

// A passkey deleted elsewhere between listing and deleting it is 404, as
// any passkey the caller does not have.
func TestCorbadoPasskeyDeletedMeanwhile(t *testing.T) {
	r := newCorbadoRig(t, nil)
	token, _ := r.withPasskey("twice@example.com")
	list := r.do("GET", "/passkeys", nil, token)
	pks, _ := list.body["passkeys"].([]any)
	if len(pks) != 1 {
		t.Fatalf("list: %d %s", list.status, list.raw)
	}
	pkID, _ := pks[0].(map[string]any)["id"].(string)
	api := r.api()
	r.breakAPI("DELETE", "/users/*/credentials/*", func(w http.ResponseWriter, req *http.Request) {
		r.emu.SetIntercept(nil)
		parts := strings.Split(req.URL.Path, "/") // /v2/users/{userID}/credentials/{credentialID}
		if err := api.CredentialDelete(req.Context(), parts[3], parts[5]); err != nil {
			t.Error(err)
		}
		r.emu.ServeHTTP(w, req)
	})
	res := r.do("DELETE", "/passkeys/"+pkID, nil, token)
	if res.status != 404 || res.body["code"] != "not_found" {
		t.Errorf("delete of a passkey deleted meanwhile: %d %s", res.status, res.raw)
	}
}

// The Corbado backend's errors carry Corbado's answer as a
// *passkeys.CorbadoAPIError that callers find with errors.As: status,
// error type, validation entries and request ID, and never the secret or
// a URL.
func TestCorbadoAPIError(t *testing.T) {
	r := newCorbadoRig(t, nil)
	emu := r.emu
	b, err := passkeys.NewCorbado(passkeys.CorbadoOptions{
		ProjectID: emu.ProjectID(), APISecret: emu.APISecret(), BaseURL: r.emuURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	_, err = b.ListPasskeys(ctx, passkeys.User{ID: "usr-1234567890123456789", Email: "nobody@example.com"})
	var pe *passkeys.Error
	var ae *passkeys.CorbadoAPIError
	if !errors.As(err, &pe) || pe.Status != 401 || !errors.Is(err, passkeys.ErrUnauthorized) {
		t.Fatalf("unknown user: %v, want 401 unauthorized", err)
	}
	if !errors.As(err, &ae) {
		t.Fatalf("unknown user: %v holds no *CorbadoAPIError", err)
	}
	want := passkeys.CorbadoAPIError{
		Op: "CredentialList", StatusCode: 400, Type: "validation_error",
		Validation: []passkeys.CorbadoValidation{{Field: "userID", Message: "does not exist"}}, RequestID: ae.RequestID,
	}
	if diff := cmp.Diff(want, *ae); diff != "" || !strings.HasPrefix(ae.RequestID, "req-") {
		t.Errorf("unknown user (-want +got):\n%s", diff)
	}
	if msg := err.Error(); !strings.Contains(msg, "userID: does not exist") || !strings.Contains(msg, ae.RequestID) {
		t.Errorf("message %q names neither the field nor the request", msg)
	}

	r.breakAPI("GET", "/users/*/credentials", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"httpStatusCode":503,"message":"Service Unavailable","requestData":{"requestID":"req-503"},"runtime":0.1,"error":{"type":"server_error","details":"maintenance"}}`))
	})
	_, err = b.ListPasskeys(ctx, passkeys.User{ID: "usr-1234567890123456789", Email: "nobody@example.com"})
	if !errors.Is(err, passkeys.ErrUpstream) || !errors.As(err, &ae) || !cmp.Equal(*ae,
		passkeys.CorbadoAPIError{Op: "CredentialList", StatusCode: 503, Type: "server_error", Details: "maintenance", RequestID: "req-503"}) {
		t.Errorf("failing API: %v (%#v)", err, ae)
	}
	r.emu.SetIntercept(nil)

	bad, err := passkeys.NewCorbado(passkeys.CorbadoOptions{
		ProjectID: emu.ProjectID(), APISecret: "corbado1_wrongButSecret", BaseURL: r.emuURL, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.StartOTP(ctx, "who@example.com", passkeys.Client{})
	if !errors.Is(err, passkeys.ErrUpstream) || !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Type != "login_error" || ae.Op != "IdentifierList" {
		t.Errorf("wrong secret: %v", err)
	}
	for _, leak := range []string{"corbado1_wrongButSecret", emu.APISecret(), r.emuURL, "who@example.com"} {
		if msg := err.Error(); strings.Contains(msg, leak) {
			t.Errorf("the error %q holds %q", msg, leak)
		}
	}
}
