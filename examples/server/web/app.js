// The demo page of the passkeys example server. It talks to the passkeys
// API mounted under /auth/ and to the application's own GET /api/me, and
// keeps the session token in sessionStorage (gone when the tab closes).
// With cookie sessions (-cookie) answers carry no token: the browser keeps
// the HttpOnly cookie, and sessionStorage holds '' to mark "signed in".

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
  reauth: $('reauth'),
  reauthMsg: $('reauth-msg'),
  reauthPasskey: $('reauth-passkey'),
  reauthSendCode: $('reauth-send-code'),
  reauthCancel: $('reauth-cancel'),
  reauthOtpForm: $('reauth-otp-form'),
  reauthEmail: $('reauth-email'),
  reauthOtp: $('reauth-otp'),
  reauthOtpMsg: $('reauth-otp-msg'),
  reauthVerify: $('reauth-verify'),
  devices: $('devices'),
  devicesMsg: $('devices-msg'),
  sessionList: $('session-list'),
  deleteActions: $('delete-actions'),
  deleteAccount: $('delete-account'),
  deleteMsg: $('delete-msg'),
};

// Passkeys need the WebAuthn API; without it the page offers codes only.
const webauthn = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
let conditionalAvailable = false;
let pendingEmail = '';
let me = null; // the signed-in user, {id, email}, from /api/me
let passkeyIDs = []; // credential IDs of the signed-in user's passkeys
let rpID = ''; // the relying party ID, learned from the server's options
let currentSessionID = ''; // this page's session in the devices list

// ---- HTTP ----------------------------------------------------------------

class ApiError extends Error {
  constructor(status, code, detail, retryAfter, credentialId = '') {
    super(detail);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.credentialId = credentialId; // of unknown_credential
  }
}

// api sends a JSON request with the session token, if any, and returns the
// decoded answer (null for 204). Failures throw an ApiError built from the
// problem+json body and the Retry-After header. token, when given, is sent
// instead of the kept one ('' sends none).
async function api(method, path, body, token = sessionStorage.getItem(TOKEN_KEY)) {
  const headers = { Accept: 'application/json' };
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
    data?.detail ?? `The server answered ${res.status}.`, Number.isFinite(retryAfter) ? retryAfter : 0,
    typeof data?.credentialId === 'string' ? data.credentialId : '');
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

const fieldOf = new Map([[ui.emailMsg, ui.email], [ui.otpMsg, ui.otp], [ui.reauthOtpMsg, ui.reauthOtp]]);

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
    if (err.code === 'unknown_credential') {
      return 'That passkey is no longer registered for any account here, so this device was asked to forget it. Use another passkey, or continue with a code sent to your email.';
    }
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
  if (err?.code === 'unknown_credential' && err.credentialId) forgetPasskeys([err.credentialId]);
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
  if (conditional?.upgrade) {
    // A conditional create left pending by upgradeSilently: end it first.
    stopConditional().then(startConditional);
    return;
  }
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
    learnRP(start.assertionOptions.publicKey.rpId);
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
    learnRP(start.assertionOptions.publicKey.rpId);
    // The silent upgrade after a code sign-in (upgradeSilently) may have
    // started while this call waited for the server; the browser refuses a
    // second request while one is pending (OperationError).
    await stopConditional();
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
      return;
    }
    upgradeSilently();
  });
});

// upgradeSilently asks the password manager to add a passkey without a
// prompt (a conditional create) right after a sign-in by code, when the
// browser reports conditionalCreate. The person did not ask for it, so it
// never shows an error: a refusal, a backend without it (400
// not_supported) or a password manager that declines just leave the page
// as it is. A passkey it adds appears in the list. The request may stay
// pending as long as the password manager likes; it is kept like an
// autofill request, so that stopConditional ends it before any other
// ceremony. The outcome is left in the page's data-upgrade attribute
// (unsupported, waiting, added or declined), for tests.
function upgradeSilently() {
  const done = (outcome) => { document.documentElement.dataset.upgrade = outcome; };
  if (!webauthn || typeof PublicKeyCredential.getClientCapabilities !== 'function' || conditional) {
    done('unsupported');
    return;
  }
  const controller = new AbortController();
  const run = runUpgrade(controller.signal, done);
  conditional = { controller, done: run, upgrade: true };
  run.finally(() => {
    if (conditional?.controller === controller) conditional = null;
  });
}

async function runUpgrade(signal, done) {
  try {
    const caps = await PublicKeyCredential.getClientCapabilities();
    if (!caps || caps.conditionalCreate !== true) return done('unsupported');
    const start = await api('POST', '/auth/passkey/append/start', { mediation: 'conditional' });
    if (signal.aborted || !start.appendAllow || start.attestationOptions.mediation !== 'conditional') return done('declined');
    learnRP(start.attestationOptions.publicKey.rp?.id);
    const request = navigator.credentials.create({
      publicKey: creationOptions(start.attestationOptions.publicKey),
      mediation: 'conditional',
      signal,
    });
    done('waiting');
    const cred = await request;
    if (conditional?.controller.signal === signal) conditional = null;
    await api('POST', '/auth/passkey/append/finish', { attestationResponse: credentialJSON(cred) });
    await loadPasskeys();
    done('added');
  } catch {
    done('declined'); // silent by design (see above)
  }
}

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
  sessionStorage.setItem(TOKEN_KEY, session.sessionToken ?? '');
  await sendSignals(session.signals, true);
  await showAccount(note);
}

// showAccount shows the signed-in view with note and loads the account
// into it; the view is aria-busy until it has.
async function showAccount(note) {
  ui.account.setAttribute('aria-busy', 'true');
  try {
    await loadAccount(note);
  } finally {
    ui.account.removeAttribute('aria-busy');
  }
}

async function loadAccount(note) {
  await stopConditional();
  ui.signin.hidden = true;
  ui.account.hidden = false;
  ui.otp.value = '';
  say(ui.emailMsg, '');
  say(ui.otpMsg, '');
  say(ui.accountMsg, note, 'ok');
  say(ui.passkeyMsg, '');
  say(ui.devicesMsg, '');
  say(ui.deleteMsg, '');
  hideReauth();
  idleDelete();
  try {
    ({ user: me } = await api('GET', '/api/me'));
    ui.meEmail.textContent = me.email;
    ui.meId.textContent = me.id;
    document.title = 'Your account · Passkey Ready demo';
    await loadPasskeys();
    await loadSessions();
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

// signOut forgets the session on this page and shows the sign-in step
// with note. It does not tell the server: see the sign-out button.
function signOut(note, kind = 'info') {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  passkeyIDs = [];
  currentSessionID = '';
  hideReauth();
  idleDelete();
  ui.account.hidden = true;
  ui.signin.hidden = false;
  ui.meEmail.textContent = '';
  ui.meId.textContent = '';
  ui.passkeyList.replaceChildren();
  ui.sessionList.replaceChildren();
  ui.devices.hidden = true;
  document.title = 'Sign in · Passkey Ready demo';
  showEmailStep();
  say(ui.emailMsg, note, kind);
}

// Signing out ends the session on the server (POST logout), so that its
// token is refused from then on, and then forgets it here. Should the
// server not answer, the page forgets the token all the same and says so.
ui.signOut.addEventListener('click', () => busy(ui.signOut, async () => {
  let note = 'You are signed out.';
  let kind = 'info';
  try {
    await api('POST', '/auth/logout', {});
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 401)) {
      note = `You are signed out on this device, but the server could not end the session: ${problem(err)}`;
      kind = 'warn';
    }
  }
  signOut(note, kind);
  ui.email.focus();
}));

const when = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function node(tag, props = {}, ...children) {
  const n = Object.assign(document.createElement(tag), props);
  n.append(...children);
  return n;
}

async function loadPasskeys() {
  const { passkeys, signals } = await api('GET', '/auth/passkeys');
  await sendSignals(signals, false);
  passkeyIDs = passkeys.map((p) => p.id);
  ui.passkeyList.replaceChildren(...passkeys.map(passkeyItem));
  ui.passkeyEmpty.hidden = passkeys.length > 0;
}

// providerIcon is the provider's icon for the page's colour scheme as an
// <img> (never as markup: the icon is untrusted content), or nothing when
// there is none that is an SVG or PNG data URI.
const darkScheme = window.matchMedia?.('(prefers-color-scheme: dark)');
function providerIcon(provider) {
  const src = darkScheme?.matches ? provider?.iconDark || provider?.iconLight : provider?.iconLight || provider?.iconDark;
  if (typeof src !== 'string' || !/^data:image\/(svg\+xml|png);base64,/.test(src)) return [];
  const img = node('img', { className: 'provider-icon', src, alt: '', width: 20, height: 20 });
  img.title = provider.name;
  return [img, ' '];
}

function passkeyItem(p) {
  const sync = p.backedUp
    ? node('span', { className: 'sync synced', textContent: 'Synced' })
    : node('span', { className: 'sync local', textContent: 'This device only' });
  const info = node('div', { className: 'passkey-info' },
    node('p', { className: 'passkey-name' }, ...providerIcon(p.provider), node('span', { className: 'name', textContent: p.name }), ' ', sync),
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
  say(ui.passkeyMsg, '');
  await recently(`delete the passkey ${p.name}`, ui.passkeyList, ui.passkeyMsg, async () => {
    const res = await api('DELETE', `/auth/passkeys/${encodeURIComponent(p.id)}`);
    await sendSignals(res?.signals, false);
    await loadPasskeys();
    say(ui.passkeyMsg, 'Passkey deleted. Your device may still offer it; you can remove it in your password manager.', 'ok');
    ui.addPasskey.focus();
  });
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
    learnRP(start.attestationOptions.publicKey.rp?.id);
    // The silent upgrade after a code sign-in (upgradeSilently) may have
    // started while this call waited for the server; the browser refuses a
    // second request while one is pending (OperationError).
    await stopConditional();
    const cred = await navigator.credentials.create({ publicKey: creationOptions(start.attestationOptions.publicKey) });
    const { passkey } = await api('POST', '/auth/passkey/append/finish', { attestationResponse: credentialJSON(cred) });
    await loadPasskeys();
    say(ui.passkeyMsg, `Passkey added: ${passkey.name}. Next time, sign in with it instead of a code.`, 'ok');
  } catch (err) {
    accountError(err, ui.passkeyMsg);
  }
}));

// ---- Recent sign-in -----------------------------------------------------

// The server refuses destructive calls (deleting the account, signing out
// another device) with 403 reauthentication_required when this session
// signed in too long ago. The page then asks the person to sign in again,
// as the same account, and retries the call with the new session.

let reauth = null; // { what, place, target, run } of the refused call

function learnRP(id) {
  if (typeof id === 'string' && id) rpID = id;
}

// recently runs run, the call that does what ("delete your account"). A
// refusal for want of a recent sign-in shows the sign-in-again panel after
// place; any other failure is shown at target.
async function recently(what, place, target, run) {
  hideReauth();
  try {
    await run();
  } catch (err) {
    if (err instanceof ApiError && err.code === 'reauthentication_required') {
      showReauth({ what, place, target, run });
      return;
    }
    accountError(err, target);
  }
}

function showReauth(r) {
  reauth = r;
  r.place.after(ui.reauth);
  ui.reauthOtpForm.hidden = true;
  ui.reauthOtp.value = '';
  say(ui.reauthOtpMsg, '');
  const passkeys = webauthn && passkeyIDs.length > 0;
  ui.reauthPasskey.hidden = !passkeys;
  ui.reauthSendCode.textContent = passkeys ? 'Email me a code instead' : 'Email me a code';
  ui.reauth.hidden = false;
  say(ui.reauthMsg, `Please confirm it's you: sign in again to ${r.what}. This needs a recent sign-in.`, 'warn');
  (passkeys ? ui.reauthPasskey : ui.reauthSendCode).focus();
}

function hideReauth() {
  reauth = null;
  ui.reauth.hidden = true;
  ui.reauthOtpForm.hidden = true;
  ui.reauthOtp.value = '';
  say(ui.reauthMsg, '');
  say(ui.reauthOtpMsg, '');
}

// reauthenticated takes the new session of a sign-in again: it must be the
// same account's. It replaces the kept token, ends the older session (this
// device should not be listed twice: by its ID when the devices list gave
// one, else by its token) and retries the refused call.
async function reauthenticated(session) {
  const r = reauth;
  if (!r || !me) return;
  const token = session.sessionToken ?? ''; // none with cookie sessions
  if (session.user.id !== me.id) {
    await api('POST', '/auth/logout', {}, token).catch(() => {});
    say(ui.reauthMsg, `That sign-in was for ${session.user.email}. Sign in again as ${me.email} to ${r.what}.`, 'error');
    return;
  }
  const olderToken = sessionStorage.getItem(TOKEN_KEY);
  const olderID = currentSessionID;
  sessionStorage.setItem(TOKEN_KEY, token);
  await sendSignals(session.signals, true);
  currentSessionID = '';
  if (olderID) {
    await api('DELETE', `/auth/sessions/${encodeURIComponent(olderID)}`).catch(() => {});
  } else if (olderToken && olderToken !== token) {
    await api('POST', '/auth/logout', {}, olderToken).catch(() => {});
  }
  await recently(r.what, r.place, r.target, r.run);
  // The devices list now has this device's new session.
  if (me && !ui.devices.hidden) await loadSessions().catch((err) => accountError(err, ui.devicesMsg));
}

ui.reauthPasskey.addEventListener('click', () => busy(ui.reauthPasskey, async () => {
  const r = reauth;
  if (!r || !me) return;
  say(ui.reauthMsg, `Sign in with your passkey to ${r.what}.`, 'info');
  try {
    const start = await api('POST', '/auth/passkey/login/start', { email: me.email }, '');
    if (!start.loginAllow) {
      await sendReauthCode(`There is no passkey for ${me.email} any more, so we sent a code to your email instead.`);
      return;
    }
    learnRP(start.assertionOptions.publicKey.rpId);
    // The silent upgrade after a code sign-in (upgradeSilently) may have
    // started while this call waited for the server; the browser refuses a
    // second request while one is pending (OperationError).
    await stopConditional();
    const cred = await navigator.credentials.get({ publicKey: requestOptions(start.assertionOptions.publicKey) });
    const session = await api('POST', '/auth/passkey/login/finish', { assertionResponse: credentialJSON(cred) }, '');
    await reauthenticated(session);
  } catch (err) {
    sayFailure(ui.reauthMsg, err, 'login');
  }
}));

// sendReauthCode sends a one-time code to the account's email and shows
// the code field of the panel with note.
async function sendReauthCode(note) {
  const res = await api('POST', '/auth/signUpOrLogin', { email: me.email }, '');
  ui.reauthEmail.textContent = me.email;
  ui.reauthOtpForm.hidden = false;
  say(ui.reauthMsg, `We sent a code to ${me.email}. It is valid for ${duration(res.expiresInSeconds)}.`, 'info');
  say(ui.reauthOtpMsg, note, 'info');
  ui.reauthOtp.focus();
}

ui.reauthSendCode.addEventListener('click', () => busy(ui.reauthSendCode, async () => {
  if (!reauth || !me) return;
  try {
    await sendReauthCode('');
  } catch (err) {
    sayFailure(ui.reauthMsg, err, 'login');
  }
}));

ui.reauthOtpForm.addEventListener('submit', (event) => {
  event.preventDefault();
  busy(ui.reauthVerify, async () => {
    if (!reauth || !me) return;
    const code = ui.reauthOtp.value.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(code)) {
      say(ui.reauthOtpMsg, 'Enter the 6 digits from the email.');
      ui.reauthOtp.focus();
      return;
    }
    try {
      const session = await api('POST', '/auth/signUpOrLogin', { email: me.email, otp: code }, '');
      await reauthenticated(session);
    } catch (err) {
      sayFailure(ui.reauthOtpMsg, err, 'login');
      ui.reauthOtp.select();
    }
  });
});

ui.reauthCancel.addEventListener('click', () => {
  const r = reauth;
  hideReauth();
  if (r) say(r.target, 'Nothing was changed.', 'info');
});

// ---- Signed-in devices ---------------------------------------------------

// loadSessions lists the account's sessions. A session system that keeps
// no sessions on the server (the demo JWTs) answers 404: the section stays
// hidden.
async function loadSessions() {
  let sessions;
  try {
    ({ sessions } = await api('GET', '/auth/sessions'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      currentSessionID = '';
      ui.sessionList.replaceChildren();
      ui.devices.hidden = true;
      return;
    }
    throw err;
  }
  // This device first, then the others as the server orders them.
  currentSessionID = sessions.find((s) => s.current)?.id ?? '';
  const ordered = [...sessions.filter((s) => s.current), ...sessions.filter((s) => !s.current)];
  ui.sessionList.replaceChildren(...ordered.map(sessionItem));
  ui.devices.hidden = false;
}

// deviceName turns a user agent into words like "Chrome on Linux", with
// the names the server gives passkeys ("Passkey on Safari (iPhone)").
function deviceName(ua) {
  const find = (list) => list.find(([re]) => re.test(ua))?.[1];
  const browser = find([[/Edg(e|A|iOS)?\//, 'Edge'], [/OPR\/|Opera/, 'Opera'], [/SamsungBrowser\//, 'Samsung Internet'],
    [/Vivaldi\//, 'Vivaldi'], [/Firefox\/|FxiOS\//, 'Firefox'], [/Chromium\//, 'Chromium'], [/Chrome\/|CriOS\//, 'Chrome'],
    [/Safari\//, 'Safari']]);
  const os = find([[/Android/, 'Android'], [/iPad/, 'iPad'], [/iPhone|iPod/, 'iPhone'], [/CrOS/, 'ChromeOS'],
    [/Macintosh|Mac OS X/, 'macOS'], [/Windows/, 'Windows'], [/Linux/, 'Linux']]);
  if (browser && os) return `${browser} on ${os}`;
  return browser ?? os ?? 'Unknown device';
}

const signedInWith = new Map([['otp', 'with an email code'], ['passkey', 'with a passkey'], ['autofill', 'with a passkey (autofill)']]);

function sessionItem(s) {
  const name = deviceName(s.userAgent ?? '');
  const title = node('p', { className: 'session-name' }, node('span', { className: 'name', textContent: name }));
  if (s.current) title.append(' ', node('span', { className: 'tag current', textContent: 'This device' }));
  const how = signedInWith.get(s.authentication?.method);
  const created = when.format(new Date(s.createdAt));
  const info = node('div', { className: 'session-info' },
    title,
    node('p', { className: 'ua', textContent: s.userAgent || 'The browser sent no description of itself.' }),
    node('dl', {},
      node('dt', { textContent: 'Signed in' }),
      node('dd', { className: 'created', textContent: how ? `${created}, ${how}` : created }),
      node('dt', { textContent: 'Last active' }),
      node('dd', { className: 'last-seen', textContent: when.format(new Date(s.lastSeenAt)) })));
  const actions = node('div', { className: 'row-actions' });
  const item = node('li', { className: 'session' }, info, actions);
  item.dataset.id = s.id;
  if (s.current) {
    item.dataset.current = 'true';
  } else {
    const revoke = node('button', { type: 'button', className: 'danger revoke', textContent: 'Revoke' });
    revoke.setAttribute('aria-label', `Revoke ${name}, signed in ${created}`);
    revoke.addEventListener('click', () => busy(revoke, () => revokeSession(s, name)));
    actions.append(revoke);
  }
  return item;
}

// revokeSession signs another device out (DELETE sessions/{id}).
async function revokeSession(s, name) {
  say(ui.accountMsg, '');
  say(ui.devicesMsg, '');
  await recently(`sign out ${name}`, ui.sessionList, ui.devicesMsg, async () => {
    let note = `${name} is signed out.`;
    try {
      await api('DELETE', `/auth/sessions/${encodeURIComponent(s.id)}`);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'not_found')) throw err;
      note = `${name} was already signed out.`;
    }
    await loadSessions();
    say(ui.devicesMsg, note, 'ok');
    ui.devicesMsg.focus();
  });
}

// ---- Delete account ------------------------------------------------------

// idleDelete shows the Delete account button and returns it.
function idleDelete() {
  const del = ui.deleteAccount;
  del.disabled = false;
  del.removeAttribute('aria-busy');
  ui.deleteActions.replaceChildren(del);
  return del;
}

ui.deleteAccount.addEventListener('click', () => {
  say(ui.deleteMsg, '');
  hideReauth();
  const del = node('button', { type: 'button', className: 'danger confirm', textContent: 'Delete my account' });
  const keep = node('button', { type: 'button', className: 'plain', textContent: 'Keep my account' });
  ui.deleteActions.replaceChildren(
    node('p', { className: 'question', textContent: `Delete the account ${me?.email ?? ''} with all its passkeys, and sign out every device? This cannot be undone.` }),
    del, keep);
  keep.addEventListener('click', () => idleDelete().focus());
  del.addEventListener('click', () => busy(del, async () => {
    await recently('delete your account', ui.deleteActions, ui.deleteMsg, deleteAccount);
    if (!ui.account.hidden && reauth) idleDelete();
  }));
  keep.focus();
});

// deleteAccount deletes the account (DELETE account), tells the browser
// that its passkeys are gone, so that it stops offering them, and shows
// the signed-out page.
async function deleteAccount() {
  const ids = passkeyIDs;
  await api('DELETE', '/auth/account');
  await forgetPasskeys(ids);
  signOut('Your account is deleted: its passkeys are gone and every device is signed out. You can sign up again with the same email.', 'ok');
}

// forgetPasskeys tells the browser's passkey provider that these
// credentials are no longer accepted (the WebAuthn signal API), where the
// browser has it.
async function forgetPasskeys(ids) {
  ids = ids.filter((id) => typeof id === 'string' && id !== '');
  if (!webauthn || typeof PublicKeyCredential.signalUnknownCredential !== 'function' || ids.length === 0) return;
  const rpId = rpID || location.hostname;
  await Promise.allSettled(ids.map((credentialId) => PublicKeyCredential.signalUnknownCredential({ rpId, credentialId })));
}

// sendSignals hands the server's Signal API data (the signals member of
// a login, the passkey list and a deletion) to the browser's passkey
// provider: which passkeys the account still accepts and, after a login
// (withDetails), its current name. Each function is called only where the
// browser has it; its absence and its errors change nothing.
async function sendSignals(signals, withDetails) {
  if (!webauthn || !signals || typeof signals !== 'object') return;
  // A pending silent upgrade would keep the browser from applying the
  // signals; what they say is more use than a passkey it may never add.
  if (conditional?.upgrade) await stopConditional();
  const calls = [];
  if (signals.allAcceptedCredentials && typeof PublicKeyCredential.signalAllAcceptedCredentials === 'function') {
    calls.push(() => PublicKeyCredential.signalAllAcceptedCredentials(signals.allAcceptedCredentials));
  }
  if (withDetails && signals.currentUserDetails && typeof PublicKeyCredential.signalCurrentUserDetails === 'function') {
    calls.push(() => PublicKeyCredential.signalCurrentUserDetails(signals.currentUserDetails));
  }
  await Promise.allSettled(calls.map(async (call) => call()));
}

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
  if (sessionStorage.getItem(TOKEN_KEY) !== null) {
    await showAccount('');
  } else {
    startConditional();
  }
  document.documentElement.dataset.ready = 'true';
}

init();
