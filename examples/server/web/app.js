// The demo page of the passkeys example server. It talks to the passkeys
// API mounted under /auth/ and to the application's own GET /api/me, and
// keeps the session token in sessionStorage (gone when the tab closes).

const TOKEN_KEY = 'passkeys.sessionToken';

const $ = (id) => document.getElementById(id);
const ui = {
  signin: $('signin'),
  signinTitle: $('signin-title'),
  signinLead: $('signin-lead'),
  emailForm: $('email-form'),
  email: $('email'),
  emailMsg: $('email-msg'),
  sendCode: $('send-code'),
  passkeyOption: $('passkey-option'),
  passkeyLogin: $('passkey-login'),
  noPasskeys: $('no-passkeys'),
  otpForm: $('otp-form'),
  otpEmail: $('otp-email'),
  otpValid: $('otp-valid'),
  otp: $('otp'),
  otpMsg: $('otp-msg'),
  verifyCode: $('verify-code'),
  resendCode: $('resend-code'),
  changeEmail: $('change-email'),
  account: $('account'),
  meEmail: $('me-email'),
  meId: $('me-id'),
  accountMsg: $('account-msg'),
  addPasskey: $('add-passkey'),
  passkeyMsg: $('passkey-msg'),
  passkeyEmpty: $('passkey-empty'),
  passkeyList: $('passkey-list'),
  signOut: $('sign-out'),
};

// Passkeys need the WebAuthn API; without it the page offers codes only.
const webauthn = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
let conditionalAvailable = false;
let pendingEmail = '';

// ---- HTTP ----------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, detail, retryAfter) {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

// api sends a JSON request with the session token, if any, and returns the
// decoded answer (null for 204). Failures throw an ApiError built from the
// problem+json body and the Retry-After header.
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network', 'We could not reach the server. Check your connection and try again.', 0);
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (res.ok && data) return data;
  const retryAfter = Number.parseInt(res.headers.get('Retry-After') ?? '', 10);
  throw new ApiError(res.status, data?.code ?? `http_${res.status}`,
    data?.detail ?? `The server answered ${res.status}.`, Number.isFinite(retryAfter) ? retryAfter : 0);
}

// ---- WebAuthn JSON -------------------------------------------------------

const b64url = {
  encode(buffer) {
    let s = '';
    for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  },
  decode(text) {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0)).buffer;
  },
};

const withIDs = (list) => (list ?? []).map((c) => ({ ...c, id: b64url.decode(c.id) }));

// creationOptions turns the server's JSON into options for credentials.create.
function creationOptions(json) {
  if (PublicKeyCredential.parseCreationOptionsFromJSON) {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: b64url.decode(json.challenge),
    user: { ...json.user, id: b64url.decode(json.user.id) },
    excludeCredentials: withIDs(json.excludeCredentials),
  };
}

// requestOptions turns the server's JSON into options for credentials.get.
function requestOptions(json) {
  if (PublicKeyCredential.parseRequestOptionsFromJSON) {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return { ...json, challenge: b64url.decode(json.challenge), allowCredentials: withIDs(json.allowCredentials) };
}

// credentialJSON is credential.toJSON(), built by hand where it is missing.
function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64url.encode(r.attestationObject);
    response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  } else {
    response.authenticatorData = b64url.encode(r.authenticatorData);
    response.signature = b64url.encode(r.signature);
    if (r.userHandle) response.userHandle = b64url.encode(r.userHandle);
  }
  return {
    id: cred.id,
    rawId: b64url.encode(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment ?? undefined,
    clientExtensionResults: cred.getClientExtensionResults(),
    response,
  };
}

// ---- Messages ------------------------------------------------------------

const fieldOf = new Map([[ui.emailMsg, ui.email], [ui.otpMsg, ui.otp]]);

// say shows text next to the field it concerns; kind is error, warn, ok or
// info. Only errors mark the field invalid.
function say(target, text, kind = 'error') {
  target.textContent = text ?? '';
  if (text) target.dataset.kind = kind;
  else delete target.dataset.kind;
  fieldOf.get(target)?.setAttribute('aria-invalid', String(Boolean(text) && kind === 'error'));
}

function plural(n, unit) {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

function duration(seconds) {
  if (seconds < 60) return plural(seconds, 'second');
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return plural(minutes, 'minute');
  return plural(Math.ceil(minutes / 60), 'hour');
}

// problem turns an ApiError into a sentence for people.
function problem(err) {
  switch (err.code) {
    case 'too_many_attempts':
      return err.retryAfter > 0
        ? `Too many attempts. Please try again in ${duration(err.retryAfter)} (at ${new Date(Date.now() + err.retryAfter * 1000).toLocaleTimeString()}).`
        : 'Too many attempts. Please wait a moment and try again.';
    case 'otp_invalid':
      return 'That code is wrong, expired or already used. Check the latest code we sent, or send a new one.';
    case 'unauthorized':
      return 'Your session has ended. Please sign in again.';
    case 'internal':
      return 'Something went wrong on our side. Please try again.';
    default:
      return err.message;
  }
}

// failure explains any error of a passkey ceremony; op is "login" or "create".
function failure(err, op) {
  if (err instanceof ApiError) {
    if (err.code === 'passkey_verification_failed') {
      return op === 'create'
        ? 'We could not verify the new passkey, so it was not saved. Please try again.'
        : 'We could not sign you in with that passkey. It may have been removed from your account. Continue with a code sent to your email instead.';
    }
    return problem(err);
  }
  switch (err?.name) {
    case 'NotAllowedError':
      return op === 'create'
        ? 'Adding a passkey was cancelled or timed out. Nothing was saved; try again when you are ready.'
        : 'Passkey sign-in was cancelled or timed out, or this device has no passkey for that account. Try again, or continue with a code sent to your email.';
    case 'InvalidStateError':
      return op === 'create'
        ? 'This device already holds a passkey for your account, so there is no need to add another one here. Use it next time you sign in.'
        : 'This passkey cannot be used right now. Please try again.';
    case 'SecurityError':
      return 'Passkeys are not available on this address: the page must be opened on the origin the server is configured for.';
    case 'NotSupportedError':
      return 'This device cannot create a passkey of a kind this site accepts.';
    case 'TypeError':
      return 'The passkey options from the server could not be read by this browser.';
  }
  return `The browser could not complete the passkey request${err?.name ? ` (${err.name})` : ''}. Please try again.`;
}

// sayFailure shows a failed request or ceremony at target: a refusal the
// person can do nothing about now is a warning, not an error.
function sayFailure(target, err, op) {
  const text = failure(err, op);
  let kind = 'error';
  if (err?.code === 'too_many_attempts') kind = 'warn';
  if (op === 'create' && err?.name === 'InvalidStateError') kind = 'info';
  say(target, text, kind);
}

// busy disables button while fn runs; a second press meanwhile does nothing.
async function busy(button, fn) {
  if (button.getAttribute('aria-busy') === 'true') return;
  button.setAttribute('aria-busy', 'true');
  button.disabled = true;
  try {
    await fn();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

// ---- Conditional UI (passkeys offered in the email field's autofill) -----

let conditional = null; // { controller, done } while a request is pending

// startConditional asks the browser to offer passkeys in the email field's
// autofill. It does nothing when one such request is already pending.
function startConditional() {
  if (!conditionalAvailable || conditional || ui.signin.hidden || ui.emailForm.hidden) return;
  const controller = new AbortController();
  const done = runConditional(controller.signal);
  conditional = { controller, done };
  done.finally(() => {
    if (conditional?.controller === controller) conditional = null;
  });
}

async function runConditional(signal) {
  try {
    const start = await api('POST', '/auth/passkey/mediation/start', {});
    if (signal.aborted || !start.loginAllow) return;
    const request = navigator.credentials.get({
      mediation: 'conditional',
      publicKey: requestOptions(start.assertionOptions.publicKey),
      signal,
    });
    document.documentElement.dataset.autofill = 'waiting';
    const cred = await request;
    // From here on this request is no longer pending: signing in must not
    // wait for it to end.
    if (conditional?.controller.signal === signal) conditional = null;
    document.documentElement.dataset.autofill = 'finishing';
    const session = await api('POST', '/auth/passkey/mediation/finish', { assertionResponse: credentialJSON(cred) });
    await signedIn(session, 'Signed in with your passkey.');
  } catch (err) {
    // The person did not pick a passkey (NotAllowedError) or we aborted:
    // nothing to report. Anything else is shown at the email field.
    if (!signal.aborted && err?.name !== 'NotAllowedError') sayFailure(ui.emailMsg, err, 'login');
  } finally {
    if (!conditional) delete document.documentElement.dataset.autofill;
  }
}

// stopConditional aborts the pending autofill request and waits until the
// browser has let go of it, so that another ceremony may start.
async function stopConditional() {
  const c = conditional;
  if (!c) return;
  conditional = null;
  c.controller.abort();
  await c.done;
}

// ---- Sign in -------------------------------------------------------------

// enteredEmail returns the email field's address, or '' after saying what
// is wrong with it.
function enteredEmail() {
  const email = ui.email.value.trim();
  if (!email) {
    say(ui.emailMsg, 'Enter your email address.');
  } else if (!ui.email.checkValidity() || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    say(ui.emailMsg, 'Enter a valid email address, like name@example.com.');
  } else {
    return email;
  }
  ui.email.focus();
  return '';
}

function showEmailStep() {
  ui.signinTitle.textContent = 'Sign in or create an account';
  ui.otpForm.hidden = true;
  ui.emailForm.hidden = false;
  ui.otp.value = '';
  say(ui.otpMsg, '');
  startConditional();
}

// sendCode asks for a one-time code and shows the code step with note.
async function sendCode(email, note) {
  await stopConditional();
  const res = await api('POST', '/auth/signUpOrLogin', { email });
  pendingEmail = email;
  ui.otpEmail.textContent = email;
  ui.otpValid.textContent = duration(res.expiresInSeconds);
  ui.signinTitle.textContent = 'Check your email';
  ui.emailForm.hidden = true;
  ui.otpForm.hidden = false;
  say(ui.emailMsg, '');
  say(ui.otpMsg, note, 'info');
  ui.otp.focus();
}

ui.emailForm.addEventListener('submit', (event) => {
  event.preventDefault();
  busy(ui.sendCode, async () => {
    const email = enteredEmail();
    if (!email) return;
    say(ui.emailMsg, '');
    try {
      await sendCode(email, '');
    } catch (err) {
      sayFailure(ui.emailMsg, err, 'login');
    }
  });
});

ui.passkeyLogin.addEventListener('click', () => busy(ui.passkeyLogin, async () => {
  const email = enteredEmail();
  if (!email) return;
  say(ui.emailMsg, '');
  await stopConditional();
  try {
    const start = await api('POST', '/auth/passkey/login/start', { email });
    if (!start.loginAllow) {
      await sendCode(email, `There is no passkey for ${email} yet, so we sent a code to your email instead.`);
      return;
    }
    const cred = await navigator.credentials.get({ publicKey: requestOptions(start.assertionOptions.publicKey) });
    const session = await api('POST', '/auth/passkey/login/finish', { assertionResponse: credentialJSON(cred) });
    await signedIn(session, 'Signed in with your passkey.');
  } catch (err) {
    sayFailure(ui.emailMsg, err, 'login');
  }
}));

ui.otpForm.addEventListener('submit', (event) => {
  event.preventDefault();
  busy(ui.verifyCode, async () => {
    const code = ui.otp.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) {
      say(ui.otpMsg, 'Enter the 6 digits from the email.');
      ui.otp.focus();
      return;
    }
    try {
      const session = await api('POST', '/auth/signUpOrLogin', { email: pendingEmail, otp: code });
      let note = 'Signed in with your email code.';
      if (session.newUser) {
        note = webauthn
          ? 'Welcome! Your account is ready. Add a passkey to sign in without a code next time.'
          : 'Welcome! Your account is ready.';
      }
      await signedIn(session, note);
    } catch (err) {
      sayFailure(ui.otpMsg, err, 'login');
      ui.otp.select();
    }
  });
});

ui.resendCode.addEventListener('click', () => busy(ui.resendCode, async () => {
  try {
    await sendCode(pendingEmail, 'A new code is on its way. Use the most recent code you received.');
  } catch (err) {
    sayFailure(ui.otpMsg, err, 'login');
  }
}));

// After a failed or aborted attempt, coming back to the email field offers
// passkeys in its autofill again.
ui.email.addEventListener('focus', startConditional);

ui.changeEmail.addEventListener('click', () => {
  showEmailStep();
  ui.email.focus();
});

// ---- Signed in -----------------------------------------------------------

async function signedIn(session, note) {
  sessionStorage.setItem(TOKEN_KEY, session.sessionToken);
  await showAccount(note);
}

async function showAccount(note) {
  await stopConditional();
  ui.signin.hidden = true;
  ui.account.hidden = false;
  ui.otp.value = '';
  say(ui.emailMsg, '');
  say(ui.otpMsg, '');
  say(ui.accountMsg, note, 'ok');
  say(ui.passkeyMsg, '');
  try {
    const me = await api('GET', '/api/me');
    ui.meEmail.textContent = me.user.email;
    ui.meId.textContent = me.user.id;
    document.title = 'Your account · Passkey Ready demo';
    await loadPasskeys();
  } catch (err) {
    accountError(err, ui.accountMsg);
  }
}

// accountError shows err at target, or signs out when the session is over.
function accountError(err, target) {
  if (err instanceof ApiError && err.status === 401) {
    signOut(problem(err), 'error');
    return;
  }
  sayFailure(target, err, 'create');
}

function signOut(note, kind = 'info') {
  sessionStorage.removeItem(TOKEN_KEY);
  ui.account.hidden = true;
  ui.signin.hidden = false;
  ui.meEmail.textContent = '';
  ui.meId.textContent = '';
  ui.passkeyList.replaceChildren();
  document.title = 'Sign in · Passkey Ready demo';
  showEmailStep();
  say(ui.emailMsg, note, kind);
}

ui.signOut.addEventListener('click', () => {
  signOut('You are signed out.');
  ui.email.focus();
});

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function node(tag, props = {}, ...children) {
  const n = Object.assign(document.createElement(tag), props);
  n.append(...children);
  return n;
}

async function loadPasskeys() {
  const { passkeys } = await api('GET', '/auth/passkeys');
  ui.passkeyList.replaceChildren(...passkeys.map(passkeyItem));
  ui.passkeyEmpty.hidden = passkeys.length > 0;
}

function passkeyItem(p) {
  const sync = p.backedUp
    ? node('span', { className: 'sync synced', textContent: 'Synced' })
    : node('span', { className: 'sync local', textContent: 'This device only' });
  const info = node('div', { className: 'passkey-info' },
    node('p', { className: 'passkey-name' }, node('span', { className: 'name', textContent: p.name }), ' ', sync),
    node('dl', {},
      node('dt', { textContent: 'Created' }),
      node('dd', { className: 'created', textContent: when.format(new Date(p.createdAt)) }),
      node('dt', { textContent: 'Last used' }),
      node('dd', { className: 'last-used', textContent: p.lastUsedAt ? when.format(new Date(p.lastUsedAt)) : 'Never' })));
  const actions = node('div', { className: 'row-actions' });
  const item = node('li', { className: 'passkey' }, info, actions);
  item.dataset.id = p.id;
  const ask = () => {
    const del = node('button', { type: 'button', className: 'danger confirm', textContent: 'Delete passkey' });
    const keep = node('button', { type: 'button', className: 'plain', textContent: 'Keep' });
    actions.replaceChildren(
      node('p', { className: 'question', textContent: 'Delete this passkey? You will no longer be able to sign in with it.' }),
      del, keep);
    keep.addEventListener('click', () => idle().focus());
    del.addEventListener('click', () => busy(del, () => deletePasskey(p)));
    keep.focus();
  };
  const idle = () => {
    const del = node('button', { type: 'button', className: 'danger', textContent: 'Delete' });
    del.setAttribute('aria-label', `Delete ${p.name}`);
    del.addEventListener('click', ask);
    actions.replaceChildren(del);
    return del;
  };
  idle();
  return item;
}

async function deletePasskey(p) {
  say(ui.accountMsg, '');
  try {
    await api('DELETE', `/auth/passkeys/${encodeURIComponent(p.id)}`);
    await loadPasskeys();
    say(ui.passkeyMsg, 'Passkey deleted. Your device may still offer it; you can remove it in your password manager.', 'ok');
    ui.addPasskey.focus();
  } catch (err) {
    accountError(err, ui.passkeyMsg);
  }
}

ui.addPasskey.addEventListener('click', () => busy(ui.addPasskey, async () => {
  say(ui.accountMsg, '');
  say(ui.passkeyMsg, '');
  await stopConditional();
  try {
    const start = await api('POST', '/auth/passkey/append/start', {});
    if (!start.appendAllow) {
      say(ui.passkeyMsg, 'Adding a passkey is not available for this account right now.', 'info');
      return;
    }
    const cred = await navigator.credentials.create({ publicKey: creationOptions(start.attestationOptions.publicKey) });
    const { passkey } = await api('POST', '/auth/passkey/append/finish', { attestationResponse: credentialJSON(cred) });
    await loadPasskeys();
    say(ui.passkeyMsg, `Passkey added: ${passkey.name}. Next time, sign in with it instead of a code.`, 'ok');
  } catch (err) {
    accountError(err, ui.passkeyMsg);
  }
}));

// ---- Start ---------------------------------------------------------------

async function init() {
  if (webauthn) {
    try {
      conditionalAvailable = await PublicKeyCredential.isConditionalMediationAvailable?.() === true;
    } catch {
      conditionalAvailable = false;
    }
  } else {
    ui.signinLead.textContent = 'Enter your email and we will send you a code to sign in.';
    ui.passkeyOption.hidden = true;
    ui.noPasskeys.hidden = false;
    ui.addPasskey.hidden = true;
    ui.passkeyEmpty.textContent = 'This browser does not support passkeys. You can keep signing in with codes sent to your email.';
  }
  if (sessionStorage.getItem(TOKEN_KEY)) {
    await showAccount('');
  } else {
    startConditional();
  }
  document.documentElement.dataset.ready = 'true';
}

init();
