package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// signalRecorder wraps the page's WebAuthn Signal API functions before
// the page's own script runs: each call is recorded in window.signalCalls
// (its name and argument) and then goes to the browser's own function,
// when it has one; window.signalsPending counts the calls not yet settled.
const signalRecorder = `(() => {
  window.signalCalls = [];
  window.signalsPending = 0;
  if (!window.PublicKeyCredential) return;
  for (const name of ["signalUnknownCredential", "signalAllAcceptedCredentials", "signalCurrentUserDetails"]) {
    const own = PublicKeyCredential[name];
    PublicKeyCredential[name] = function (arg) {
      window.signalCalls.push({ name, arg: JSON.parse(JSON.stringify(arg)) });
      window.signalsPending++;
      const p = typeof own === "function" ? own.call(PublicKeyCredential, arg) : Promise.resolve();
      return p.finally(() => { window.signalsPending--; });
    };
  }
})();`

// signalCall is one recorded call of a Signal API function.
type signalCall struct {
	Name string         `json:"name"`
	Arg  map[string]any `json:"arg"`
}

// signalCalls waits until every recorded call has settled, then returns
// the calls recorded since the last time and forgets them.
func (d *browserDemo) signalCalls() []signalCall {
	d.t.Helper()
	d.do("signals settled", d.waitJS(`window.signalsPending === 0`))
	raw, err := chromedp.Run(d.ctx, chromedp.Evaluate[string](`(() => { const c = JSON.stringify(window.signalCalls ?? []); window.signalCalls = []; return c; })()`))
	if err != nil {
		d.t.Fatal(err)
	}
	var calls []signalCall
	if err := json.Unmarshal([]byte(raw), &calls); err != nil {
		d.t.Fatalf("recorded signal calls %s: %v", raw, err)
	}
	return calls
}

// lastCall returns the argument of the last recorded call of name, or nil.
func lastCall(calls []signalCall, name string) map[string]any {
	var arg map[string]any
	for _, c := range calls {
		if c.Name == name {
			arg = c.Arg
		}
	}
	return arg
}

// TestBrowserSignals checks that the page passes the server's Signal API
// data to the browser: after a passkey login the accepted passkeys and
// the current user details, after a deletion the passkeys left, and after
// a login with a passkey deleted elsewhere signalUnknownCredential with
// its ID, each with the arguments the server gave.
func TestBrowserSignals(t *testing.T) {
	d := startBrowserDemo(t, 1280, signalRecorder)
	const email = "sig@example.com"
	d.signUp(email)
	d.addPasskey(1)
	creds := d.credentials()
	if len(creds) != 1 {
		t.Fatalf("authenticator holds %d credentials, want 1", len(creds))
	}
	credID, handle := b64(creds[0].CredentialID), b64(creds[0].UserHandle)
	const rpID = "localhost"
	accepted := func(ids ...string) map[string]any {
		list := []any{}
		for _, id := range ids {
			list = append(list, id)
		}
		return map[string]any{"rpId": rpID, "userId": handle, "allAcceptedCredentialIds": list}
	}
	details := map[string]any{"rpId": rpID, "userId": handle, "name": email, "displayName": email}

	d.signOut()
	d.signalCalls()
	d.typeInto("#email", email)
	d.presence(true)
	d.click("#passkey-login")
	d.waitText("#account-msg", "Signed in with your passkey.")
	d.waitLoaded()
	calls := d.signalCalls()
	if diff := cmp.Diff(details, lastCall(calls, "signalCurrentUserDetails")); diff != "" {
		t.Errorf("signalCurrentUserDetails after the login (-want +got):\n%s\ncalls: %+v", diff, calls)
	}
	if diff := cmp.Diff(accepted(credID), lastCall(calls, "signalAllAcceptedCredentials")); diff != "" {
		t.Errorf("signalAllAcceptedCredentials after the login (-want +got):\n%s", diff)
	}

	d.click("#passkey-list li button.danger")
	d.click("#passkey-list li button.confirm")
	d.waitText("#passkey-msg", "Passkey deleted.")
	d.waitText("#passkey-empty", "No passkeys yet.")
	calls = d.signalCalls()
	if diff := cmp.Diff(accepted(), lastCall(calls, "signalAllAcceptedCredentials")); diff != "" {
		t.Errorf("signalAllAcceptedCredentials after the deletion (-want +got):\n%s\ncalls: %+v", diff, calls)
	}
	if arg := lastCall(calls, "signalCurrentUserDetails"); arg != nil {
		t.Errorf("signalCurrentUserDetails after a deletion: %v, want none", arg)
	}
	if n := len(d.credentials()); n != 0 {
		t.Errorf("authenticator still holds %d credentials after the page signalled the deletion", n)
	}

	// A passkey deleted elsewhere (over the API, not by this page) is
	// offered by autofill; the server answers unknown_credential and the
	// page tells the browser to forget it.
	d.addPasskey(1)
	creds = d.credentials()
	if len(creds) != 1 {
		t.Fatalf("authenticator holds %d credentials, want 1", len(creds))
	}
	credID = b64(creds[0].CredentialID)
	if status := d.call(http.MethodDelete, "/auth/passkeys/"+credID, d.token(), "", nil, nil); status != http.StatusOK {
		t.Fatalf("DELETE the passkey over the API = %d, want 200", status)
	}
	d.signOut()
	d.signalCalls()
	d.presence(true)
	d.do("come back to the page", chromedp.Navigate(d.url+"/"))
	d.waitText("#email-msg", "That passkey is no longer registered")
	calls = d.signalCalls()
	if diff := cmp.Diff(map[string]any{"rpId": rpID, "credentialId": credID}, lastCall(calls, "signalUnknownCredential")); diff != "" {
		t.Errorf("signalUnknownCredential after unknown_credential (-want +got):\n%s\ncalls: %+v", diff, calls)
	}
	if n := len(d.credentials()); n != 0 {
		t.Errorf("authenticator still holds %d credentials after signalUnknownCredential", n)
	}
}
