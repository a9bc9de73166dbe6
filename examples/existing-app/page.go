package main

import (
	"context"
	"html/template"

	"github.com/passkeyready/passkeys"
)

// signInMethod names how the user the handler is issuing a session for
// signed in: the method the handler puts into IssueSession's context, or
// "passkey" when it puts none there.
func signInMethod(ctx context.Context) string {
	if a, ok := passkeys.AuthenticationFromContext(ctx); ok && a.Method != "" {
		return string(a.Method)
	}
	return "passkey"
}

// page is the app's one page: the password form and the passkey sign-in
// (button and autofill) when signed out; the user, "Add a passkey" and
// "Sign out" when signed in. The passkey token sits in a meta element and is
// sent as the Bearer token of the passkey routes; it is worth nothing without
// the app's HttpOnly session cookie.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Existing App</title>
{{with .PasskeyToken}}<meta name="passkey-token" content="{{.}}">{{end}}
</head>
<body>
<h1>Existing App</h1>
{{if .User}}
<p>Signed in as <b>{{.User.Email}}</b> (user {{.User.ID}}).</p>
<p><button id="add">Add a passkey</button> <span id="status"></span></p>
<form method="post" action="/signout"><button>Sign out</button></form>
{{else}}
<form method="post" action="/signin">
<label>Email <input name="email" type="email" autocomplete="username webauthn" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button>Sign in</button>
</form>
<p><button id="passkey">Sign in with a passkey</button> <span id="status"></span></p>
{{end}}
<script>
const status = (t) => { document.getElementById('status').textContent = t; };
const token = document.querySelector('meta[name="passkey-token"]')?.content;
async function api(path, body) {
  const headers = {'Content-Type': 'application/json'};
  if (token) headers['Authorization'] = 'Bearer ' + token;
  const r = await fetch('/auth' + path, {method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin'});
  const j = await r.json();
  if (!r.ok) throw new Error(j.detail || r.statusText);
  return j;
}
async function login(flow, email, mediation) {
  const start = await api('/passkey/' + flow + '/start', email ? {email} : {});
  if (flow === 'login' && !start.loginAllow) throw new Error('No passkey for this email.');
  const opts = PublicKeyCredential.parseRequestOptionsFromJSON(start.assertionOptions.publicKey);
  const cred = await navigator.credentials.get({publicKey: opts, mediation});
  await api('/passkey/' + flow + '/finish', {assertionResponse: cred.toJSON()});
  location.reload(); // the app's session cookie is set now
}
document.getElementById('add')?.addEventListener('click', async () => {
  try {
    const start = await api('/passkey/append/start', {clientCapabilities: {}});
    if (!start.appendAllow) return status('A passkey cannot be added here.');
    const opts = PublicKeyCredential.parseCreationOptionsFromJSON(start.attestationOptions.publicKey);
    const cred = await navigator.credentials.create({publicKey: opts});
    await api('/passkey/append/finish', {attestationResponse: cred.toJSON()});
    status('Passkey added.');
  } catch (e) { status(e.message); }
});
document.getElementById('passkey')?.addEventListener('click', () => {
  const email = document.querySelector('input[name=email]').value;
  login('login', email).catch((e) => status(e.message));
});
if (!token && window.PublicKeyCredential?.isConditionalMediationAvailable) {
  PublicKeyCredential.isConditionalMediationAvailable().then((ok) => {
    if (ok) login('mediation', '', 'conditional').catch(() => {});
  });
}
</script>
</body>
</html>
`))
