// The demo page of the passkeys example server. It signs in through the
// browser client module that the passkeys handler serves at
// /auth/client.js (web.go adds the module's version to the import below,
// so the browser may cache it for good), calls the application's own
// GET /api/me, and keeps the session token in sessionStorage (gone when
// the tab closes). With cookie sessions (-cookie) answers carry no token:
// the browser keeps the HttpOnly cookie, and sessionStorage holds '' to
// mark "signed in".

import { createClient, PasskeysError, webauthnAvailable, autofillAvailable } from '/auth/client.js';

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
  activity: $('activity'),
  activityMsg: $('activity-msg'),
  activityList: $('activity-list'),
  activityRefresh: $('activity-refresh'),
  deleteActions: $('delete-actions'),
  deleteAccount: $('delete-account'),
  deleteMsg: $('delete-msg'),
};

// Passkeys need the WebAuthn API; without it the page offers codes only.
const webauthn = webauthnAvailable();
let conditionalAvailable = false;
let pendingEmail = '';
let me = null; // the signed-in user, {id, email}, from /api/me
let passkeyCount = 0; // how many passkeys the signed-in user has
let currentSessionID = ''; // this page's session in the devices list
let canRename = true; // false once the server said it cannot rename passkeys

// ---- HTTP ----------------------------------------------------------------

// client talks to the passkeys API with the kept session token, if any
// (none with cookie sessions: the browser sends the cookie). The RP ID
// for the Signal API is learned from the server's options and signals;
// until then it is this page's host.
const client = createClient({ token: () => sessionStorage.getItem(TOKEN_KEY), rpId: location.hostname });

// anonymous sends no token: the sign-in again asks for a new session
// without the one it replaces.
const anonymous = createClient({ rpId: location.hostname });

// clientWith sends token ('' sends none) instead of the kept one.
const clientWith = (token) => createClient({ token });

// fetchMe returns the signed-in user from the application's own
// GET /api/me, behind the passkeys session guard. Failures throw a
// PasskeysError, as the client's calls do.
async function fetchMe() {
  const headers = { Accept: 'application/json' };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = 'Bearer ' + token;
  let res;
  try {
    res = await fetch('/api/me', { headers });
  } catch (err) {
    throw new PasskeysError('network', 0, 'The server could not be reached.', 0, err);
  }
  const data = await res.json().catch(() => null);
  if (res.ok && data?.user) return data.user;
  throw new PasskeysError(typeof data?.code === 'string' ? data.code : `http_${res.status}`, res.status,
    typeof data?.detail === 'string' ? data.detail : `The server answered ${res.status}.`);
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

// problem turns a failed request into a sentence for people.
function problem(err) {
  switch (err?.code) {
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
    case 'network':
      return 'We could not reach the server. Check your connection and try again.';
    default:
      return err?.detail || err?.message || 'Something went wrong. Please try again.';
  }
}

// failure explains any error of a passkey ceremony; op is "login" or
// "create". The client module throws every failure as a PasskeysError:
// the server's problem+json code, or webauthn_* for what the browser
// refused (its DOMException is the cause).
function failure(err, op) {
  switch (err?.code) {
    case 'unknown_credential':
      return 'That passkey is no longer registered for any account here, so this device was asked to forget it. Use another passkey, or continue with a code sent to your email.';
    case 'passkey_verification_failed':
      return op === 'create'
        ? 'We could not verify the new passkey, so it was not saved. Please try again.'
        : 'We could not sign you in with that passkey. It may have been removed from your account. Continue with a code sent to your email instead.';
    case 'webauthn_not_allowed':
      return op === 'create'
        ? 'Adding a passkey was cancelled or timed out. Nothing was saved; try again when you are ready.'
        : 'Passkey sign-in was cancelled or timed out, or this device has no passkey for that account. Try again, or continue with a code sent to your email.';
    case 'webauthn_invalid_state':
      return op === 'create'
        ? 'This device already holds a passkey for your account, so there is no need to add another one here. Use it next time you sign in.'
        : 'This passkey cannot be used right now. Please try again.';
    case 'webauthn_security':
      return 'Passkeys are not available on this address: the page must be opened on the origin the server is configured for.';
    case 'webauthn_not_supported':
      return 'This device cannot create a passkey of a kind this site accepts.';
    case 'webauthn_aborted':
    case 'webauthn_constraint':
    case 'webauthn_failed': {
      const name = err.cause?.name;
      if (name === 'TypeError') return 'The passkey options from the server could not be read by this browser.';
      return `The browser could not complete the passkey request${name ? ` (${name})` : ''}. Please try again.`;
    }
  }
  if (err instanceof PasskeysError) return problem(err);
  return `The browser could not complete the passkey request${err?.name ? ` (${err.name})` : ''}. Please try again.`;
}

// sayFailure shows a failed request or ceremony at target: a refusal the
// person can do nothing about now is a warning, not an error.
function sayFailure(target, err, op) {
  const text = failure(err, op);
  let kind = 'error';
  if (err?.code === 'too_many_attempts') kind = 'warn';
  if (op === 'create' && err?.code === 'webauthn_invalid_state') kind = 'info';
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

// ---- Pending passkey requests --------------------------------------------

// The page keeps at most one passkey request pending without a prompt:
// the autofill of the email field while signed out, or the silent
// upgrade after a code sign-in. The client module ends it itself before a
// request with a prompt and before passing signals to the browser (which
// refuses a second request while one is pending, and applies no signal
// while a conditional create waits), and holds a new one back while a
// prompt is open. The page ends its own when it leaves the step it
// belongs to.

let conditional = null; // { controller, done, upgrade } while a request is pending

// stopConditional aborts the pending request and waits until its handler
// is done.
async function stopConditional() {
  const c = conditional;
  if (!c) return;
  conditional = null;
  c.controller.abort();
  await c.done;
}

// hold keeps a pending request started by run(signal), a promise that
// never rejects.
function hold(run, upgrade) {
  const controller = new AbortController();
  const done = run(controller.signal);
  conditional = { controller, done, upgrade };
  done.finally(() => {
    if (conditional?.controller === controller) conditional = null;
  });
}

// ---- Conditional UI (passkeys offered in the email field's autofill) -----

// startConditional asks the browser to offer passkeys in the email field's
// autofill. It does nothing when one such request is already pending.
function startConditional() {
  if (conditional?.upgrade) {
    // A conditional create left pending by upgradeSilently: end it first.
    stopConditional().then(startConditional);
    return;
  }
  if (!conditionalAvailable || conditional || ui.signin.hidden || ui.emailForm.hidden) return;
  hold(runConditional, false);
}

async function runConditional(signal) {
  const html = document.documentElement;
  try {
    const session = await client.autofill({ signal, onPending: () => { html.dataset.autofill = 'waiting'; } });
    // From here on this request is no longer pending: signing in must not
    // wait for it to end.
    if (conditional?.controller.signal === signal) conditional = null;
    if (!session) return; // aborted, dismissed or not offered
    html.dataset.autofill = 'finishing';
    await signedIn(session, 'Signed in with your passkey.');
  } catch (err) {
    // The person did not pick a passkey or we aborted: the client resolves
    // to null. Anything else is shown at the email field.
    if (!signal.aborted) sayFailure(ui.emailMsg, err, 'login');
  } finally {
    if (!conditional) delete html.dataset.autofill;
  }
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
  const res = await client.requestCode(email);
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
  try {
    const session = await client.signInWithPasskey(email);
    if (!session) {
      await sendCode(email, `There is no passkey for ${email} yet, so we sent a code to your email instead.`);
      return;
    }
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
      const session = await client.confirmCode(pendingEmail, code);
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
// prompt (the client's upgradePasskey, a conditional create) right after
// a sign-in by code, when the browser reports conditionalCreate. The
// person did not ask for it, so it never shows an error: a refusal, a
// backend without it (400 not_supported) or a password manager that
// declines just leave the page as it is. A passkey it adds appears in the
// list. The request may stay pending as long as the password manager
// likes; the client ends it before any other ceremony. The outcome is left in the page's
// data-upgrade attribute (unsupported, waiting, added or declined), for
// tests.
function upgradeSilently() {
  const done = (outcome) => { document.documentElement.dataset.upgrade = outcome; };
  if (!webauthn || typeof PublicKeyCredential.getClientCapabilities !== 'function' || conditional) {
    done('unsupported');
    return;
  }
  if (ui.account.hidden) {
    done('declined'); // the person signed out meanwhile
    return;
  }
  hold(async (signal) => {
    const result = await client.upgradePasskey({ signal, onPending: () => done('waiting') });
    if (conditional?.controller.signal === signal) conditional = null;
    if (result.outcome === 'added') await loadPasskeys().then(loadActivity).catch(() => {});
    done(result.outcome);
  }, true);
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

// signedIn keeps the session's token ('' with cookie sessions; the client
// has passed a passkey login's signals to the browser already) and shows
// the account with note.
async function signedIn(session, note) {
  sessionStorage.setItem(TOKEN_KEY, session.sessionToken ?? '');
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
    me = await fetchMe();
    ui.meEmail.textContent = me.email;
    ui.meId.textContent = me.id;
    document.title = 'Your account · Passkey Ready demo';
    await loadPasskeys();
    await loadSessions();
    await loadActivity();
  } catch (err) {
    accountError(err, ui.accountMsg);
  }
}

// accountError shows err at target, or signs out when the session is over.
function accountError(err, target) {
  if (err instanceof PasskeysError && err.status === 401) {
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
  passkeyCount = 0;
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
  ui.activityList.replaceChildren();
  ui.activity.hidden = true;
  say(ui.activityMsg, '');
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
    await client.signOut();
  } catch (err) {
    if (err?.status !== 401) {
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

// loadPasskeys lists the account's passkeys (the client passes the
// list's signals to the browser).
async function loadPasskeys() {
  const passkeys = await client.listPasskeys();
  passkeyCount = passkeys.length;
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
    keep.addEventListener('click', () => idle().del.focus());
    del.addEventListener('click', () => busy(del, () => deletePasskey(p)));
    keep.focus();
  };
  // rename shows a field for the new name in place of the buttons.
  const rename = () => {
    const input = node('input', { type: 'text', className: 'rename-name', value: p.name, maxLength: 64, autocomplete: 'off', spellcheck: false });
    input.setAttribute('aria-label', `New name for ${p.name}`);
    const save = node('button', { type: 'submit', className: 'primary small', textContent: 'Save' });
    const cancel = node('button', { type: 'button', className: 'plain', textContent: 'Cancel' });
    const form = node('form', { className: 'rename-form', noValidate: true }, input, save, cancel);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      busy(save, () => renamePasskey(p, input, () => idle().ren?.focus()));
    });
    cancel.addEventListener('click', () => {
      say(ui.passkeyMsg, '');
      idle().ren?.focus();
    });
    actions.replaceChildren(form);
    input.focus();
    input.select();
  };
  // idle shows the Rename (unless the server cannot rename) and Delete
  // buttons and returns them.
  const idle = () => {
    const del = node('button', { type: 'button', className: 'danger', textContent: 'Delete' });
    del.setAttribute('aria-label', `Delete ${p.name}`);
    del.addEventListener('click', ask);
    if (!canRename) {
      actions.replaceChildren(del);
      return { del };
    }
    const ren = node('button', { type: 'button', className: 'secondary small rename', textContent: 'Rename' });
    ren.setAttribute('aria-label', `Rename ${p.name}`);
    ren.addEventListener('click', rename);
    actions.replaceChildren(ren, del);
    return { ren, del };
  };
  idle();
  return item;
}

// renamePasskey gives p the name in input (PATCH passkeys/{id}); the
// server trims it and takes 1 to 64 characters without control or bidi
// characters. back shows the buttons again. A server that cannot rename
// passkeys (the Corbado backend: Corbado keeps no passkey names) answers
// not_supported: the page says so and offers no rename from then on.
async function renamePasskey(p, input, back) {
  say(ui.accountMsg, '');
  say(ui.passkeyMsg, '');
  const name = input.value.trim();
  if (!name || [...name].length > 64) {
    say(ui.passkeyMsg, 'Enter a name of 1 to 64 characters.');
    input.focus();
    return;
  }
  if (name === p.name) {
    back();
    return;
  }
  try {
    const passkey = await client.renamePasskey(p.id, name);
    await loadPasskeys();
    say(ui.passkeyMsg, `Passkey renamed: ${passkey.name}.`, 'ok');
    ui.passkeyList.querySelector(`li[data-id="${CSS.escape(p.id)}"] button.rename`)?.focus();
    await loadActivity();
  } catch (err) {
    switch (err?.code) {
      case 'not_supported':
        canRename = false;
        say(ui.passkeyMsg, 'This server cannot rename passkeys: the passkey service it uses keeps no names. Your passkey keeps its name.', 'info');
        await loadPasskeys().catch(() => {});
        return;
      case 'invalid_request':
        say(ui.passkeyMsg, `That name cannot be used: ${err.detail}`);
        input.focus();
        return;
      case 'not_found':
        say(ui.passkeyMsg, 'That passkey is no longer on your account.', 'info');
        await loadPasskeys().catch(() => {});
        return;
    }
    accountError(err, ui.passkeyMsg);
  }
}

// deletePasskey deletes p; the client passes the passkeys left to the
// browser (signalAllAcceptedCredentials).
async function deletePasskey(p) {
  say(ui.accountMsg, '');
  say(ui.passkeyMsg, '');
  await recently(`delete the passkey ${p.name}`, ui.passkeyList, ui.passkeyMsg, async () => {
    await client.deletePasskey(p.id);
    await loadPasskeys();
    say(ui.passkeyMsg, 'Passkey deleted. Your device may still offer it; you can remove it in your password manager.', 'ok');
    ui.addPasskey.focus();
    await loadActivity();
  });
}

ui.addPasskey.addEventListener('click', () => busy(ui.addPasskey, async () => {
  say(ui.accountMsg, '');
  say(ui.passkeyMsg, '');
  try {
    const passkey = await client.addPasskey();
    await loadPasskeys();
    say(ui.passkeyMsg, `Passkey added: ${passkey.name}. Next time, sign in with it instead of a code.`, 'ok');
    await loadActivity();
  } catch (err) {
    if (err?.code === 'append_not_allowed') {
      say(ui.passkeyMsg, 'Adding a passkey is not available for this account right now.', 'info');
      return;
    }
    accountError(err, ui.passkeyMsg);
  }
}));

// ---- Recent sign-in -----------------------------------------------------

// The server refuses destructive calls (deleting the account, signing out
// another device) with 403 reauthentication_required when this session
// signed in too long ago. The page then asks the person to sign in again,
// as the same account, and retries the call with the new session.

let reauth = null; // { what, place, target, run } of the refused call

// recently runs run, the call that does what ("delete your account"). A
// refusal for want of a recent sign-in shows the sign-in-again panel after
// place; any other failure is shown at target.
async function recently(what, place, target, run) {
  hideReauth();
  try {
    await run();
  } catch (err) {
    if (err?.code === 'reauthentication_required') {
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
  const passkeys = webauthn && passkeyCount > 0;
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
    await clientWith(token).signOut().catch(() => {});
    say(ui.reauthMsg, `That sign-in was for ${session.user.email}. Sign in again as ${me.email} to ${r.what}.`, 'error');
    return;
  }
  const olderToken = sessionStorage.getItem(TOKEN_KEY);
  const olderID = currentSessionID;
  sessionStorage.setItem(TOKEN_KEY, token);
  currentSessionID = '';
  if (olderID) {
    await client.revokeSession(olderID).catch(() => {});
  } else if (olderToken && olderToken !== token) {
    await clientWith(olderToken).signOut().catch(() => {});
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
    const session = await anonymous.signInWithPasskey(me.email);
    if (!session) {
      await sendReauthCode(`There is no passkey for ${me.email} any more, so we sent a code to your email instead.`);
      return;
    }
    await reauthenticated(session);
  } catch (err) {
    sayFailure(ui.reauthMsg, err, 'login');
  }
}));

// sendReauthCode sends a one-time code to the account's email and shows
// the code field of the panel with note.
async function sendReauthCode(note) {
  const res = await anonymous.requestCode(me.email);
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
      const session = await anonymous.confirmCode(me.email, code);
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
    sessions = await client.listSessions();
  } catch (err) {
    if (err instanceof PasskeysError && err.status === 404) {
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
      await client.revokeSession(s.id);
    } catch (err) {
      if (err?.code !== 'not_found') throw err;
      note = `${name} was already signed out.`;
    }
    await loadSessions();
    say(ui.devicesMsg, note, 'ok');
    ui.devicesMsg.focus();
    await loadActivity();
  });
}

// ---- Recent activity -----------------------------------------------------

// What each recorded security event is called.
const activityWords = new Map([
  ['sign_up', 'Account created'],
  ['login', 'Signed in'],
  ['passkey_added', 'Passkey added'],
  ['passkey_renamed', 'Passkey renamed'],
  ['passkey_removed', 'Passkey deleted'],
  ['session_revoked', 'Device signed out'],
  ['email_changed', 'Email address changed'],
  ['code_failed', 'Wrong or expired code entered'],
  ['rate_limited', 'Too many attempts'],
]);

// loadActivity lists the account's recent security events (GET
// account/activity). A server that records none answers 404: the section
// stays hidden. Its failures are shown in the section, never instead of
// the account.
async function loadActivity() {
  let events;
  try {
    events = await client.listActivity();
  } catch (err) {
    if (err instanceof PasskeysError && err.status === 404) {
      ui.activityList.replaceChildren();
      ui.activity.hidden = true;
      return;
    }
    if (err?.status === 401) throw err;
    say(ui.activityMsg, `The recent activity could not be loaded: ${problem(err)}`, 'warn');
    ui.activity.hidden = false;
    return;
  }
  say(ui.activityMsg, events.length ? '' : 'Nothing recorded yet.', 'info');
  ui.activityList.replaceChildren(...events.map(activityItem));
  ui.activity.hidden = false;
}

// activityItem shows one event; everything in it came from the server
// and the clients it recorded, so it is set as text only.
function activityItem(e) {
  const what = activityWords.get(e.kind) ?? String(e.kind ?? '').replaceAll('_', ' ');
  const title = node('p', { className: 'event-what' }, node('span', { className: 'what', textContent: what }));
  const how = signedInWith.get(e.method);
  if ((e.kind === 'login' || e.kind === 'sign_up') && how) title.append(' ', node('span', { className: 'how', textContent: how }));
  if (e.detail) title.append(': ', node('span', { className: 'detail', textContent: e.detail }));
  const at = new Date(e.at);
  const meta = [Number.isNaN(at.getTime()) ? '' : when.format(at), e.userAgent ? deviceName(e.userAgent) : '', e.ip ?? '']
    .filter(Boolean).join(' · ');
  const item = node('li', { className: 'event' }, title, node('p', { className: 'event-meta', textContent: meta }));
  item.dataset.kind = e.kind ?? '';
  return item;
}

ui.activityRefresh.addEventListener('click', () => busy(ui.activityRefresh, async () => {
  try {
    await loadActivity();
  } catch (err) {
    accountError(err, ui.activityMsg);
  }
}));

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

// deleteAccount deletes the account (DELETE account) and shows the
// signed-out page. The client tells the browser that the passkeys it
// listed are gone (signalUnknownCredential), so that it stops offering
// them.
async function deleteAccount() {
  await client.deleteAccount();
  signOut('Your account is deleted: its passkeys are gone and every device is signed out. You can sign up again with the same email.', 'ok');
}

// ---- Start ---------------------------------------------------------------

async function init() {
  if (webauthn) {
    conditionalAvailable = await autofillAvailable();
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
