package passkeys_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/internal/corbadoapi"
	"github.com/passkeyready/passkeys/internal/e2e"
	"github.com/passkeyready/passkeys/passkeystest/corbadotest"
)

// On the Corbado backend the guard of the host's own routes asks Corbado
// for the account: two API calls per guarded request, and a deleted
// account's token, correctly signed, gets 401.
func TestCorbadoGuardLooksUpAccount(t *testing.T) {
	env := &e2e.Env{Clock: e2e.NewClock(), Mailbox: e2e.NewMailbox()}
	emu, ts := corbadoEmulator(t, env)
	backend := corbadoOn(t, env, emu, ts.URL, nil)
	h, err := passkeys.New(passkeys.Options{Backend: backend, JWTKey: e2e.JWTKey, Clock: env.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	const email = "guarded@example.com"
	if rec := post(t, h, "/signUpOrLogin", `{"email":"`+email+`"}`, ""); rec.Code != 200 {
		t.Fatalf("request code: %d %s", rec.Code, rec.Body)
	}
	codes := env.Mailbox.Codes(email)
	var sess struct {
		SessionToken string
		User         passkeys.User
	}
	rec := post(t, h, "/signUpOrLogin", `{"email":"`+email+`","otp":"`+codes[len(codes)-1]+`"}`, "")
	if err := json.Unmarshal(rec.Body.Bytes(), &sess); err != nil || rec.Code != 200 {
		t.Fatalf("check code: %d %s", rec.Code, rec.Body)
	}
	me := h.RequireSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := passkeys.UserFromContext(r.Context())
		w.Write([]byte(u.ID + " " + u.Email))
	}))
	get := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/me", nil)
		req.Header.Set("Authorization", "Bearer "+sess.SessionToken)
		rec := httptest.NewRecorder()
		me.ServeHTTP(rec, req)
		return rec
	}
	var calls atomic.Int32
	emu.SetIntercept(func(http.ResponseWriter, *http.Request) bool { calls.Add(1); return false })
	if rec := get(); rec.Code != 200 || rec.Body.String() != sess.User.ID+" "+email {
		t.Fatalf("me: %d %s", rec.Code, rec.Body)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("a guarded request made %d API calls, want 2 (UserGet, IdentifierList)", n)
	}
	emu.SetIntercept(nil)

	if err := corbadoAPI(emu, ts.URL).UserDelete(context.Background(), sess.User.ID); err != nil {
		t.Fatal(err)
	}
	status, code, detail := problemOf(t, get())
	if status != 401 || code != "unauthorized" || detail != "The account no longer exists." {
		t.Errorf("me after the account was deleted: %d %s %q", status, code, detail)
	}
}

// corbadoAPI is a client of the emulator at url.
func corbadoAPI(emu *corbadotest.Emulator, url string) *corbadoapi.Client {
	return corbadoapi.New(corbadoapi.Config{BaseURL: url, ProjectID: emu.ProjectID(), APISecret: emu.APISecret()})
}
