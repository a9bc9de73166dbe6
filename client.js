// The browser client of the passkeys HTTP API: one dependency-free ES
// module, served by the handler at GET client.js, with its TypeScript
// declarations at GET client.d.ts.
//
//   import { createClient, PasskeysError } from '/auth/client.js';
//   const client = createClient();
//
// Every failure, a problem+json answer of the server, a network error or a
// WebAuthn DOMException, is thrown as one PasskeysError.

// PasskeysError is every failure of the client: code is the server's
// problem+json code (too_many_attempts, otp_invalid, ...), "network" when
// the server could not be reached, or webauthn_* for a WebAuthn failure of
// the browser; status is the HTTP status (0 when there was no answer);
// retryAfter is the Retry-After header in seconds (0 when absent); cause
// is the DOMException or TypeError behind it, if any; problem is the
// server's problem+json body, if any (unknown_credential names its
// credentialId there).
export class PasskeysError extends Error {
  constructor(code, status, detail, retryAfter = 0, cause = undefined, problem = undefined) {
    super(detail, cause === undefined ? undefined : { cause });
    this.name = 'PasskeysError';
    this.code = code;
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
    this.problem = problem;
    if (cause !== undefined && this.cause === undefined) this.cause = cause;
  }
}

// The code of a WebAuthn DOMException, by its name.
const webauthnCodes = {
  NotAllowedError: 'webauthn_not_allowed',
  AbortError: 'webauthn_aborted',
  InvalidStateError: 'webauthn_invalid_state',
  SecurityError: 'webauthn_security',
  NotSupportedError: 'webauthn_not_supported',
  ConstraintError: 'webauthn_constraint',
};

const webauthnDetails = {
  webauthn_not_allowed: 'The passkey prompt was dismissed or timed out.',
  webauthn_aborted: 'The passkey request was cancelled.',
  webauthn_invalid_state: 'This device already holds a passkey for this account.',
  webauthn_security: 'The page is not allowed to use passkeys for this site.',
  webauthn_not_supported: 'This device cannot create or use such a passkey.',
  webauthn_constraint: 'This device cannot meet the requirements of the request.',
  webauthn_failed: 'The passkey request failed.',
};

// webauthnError turns what navigator.credentials threw into a PasskeysError.
function webauthnError(err) {
  if (err instanceof PasskeysError) return err;
  const code = webauthnCodes[err?.name] ?? 'webauthn_failed';
  return new PasskeysError(code, 0, webauthnDetails[code], 0, err);
}

// retryAfterSeconds reads a Retry-After header: seconds or an HTTP date.
function retryAfterSeconds(value) {
  if (!value) return 0;
  if (/^\d+$/.test(value.trim())) return Number.parseInt(value, 10);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : 0;
}

// ---- base64url -----------------------------------------------------------

// toBase64url encodes an ArrayBuffer or a view of one as unpadded base64url.
export function toBase64url(buffer) {
  const bytes = ArrayBuffer.isView(buffer)
    ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength)
    : new Uint8Array(buffer);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// fromBase64url decodes base64url, padded or not, into an ArrayBuffer.
export function fromBase64url(text) {
  const s = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
  return Uint8Array.from(s, (c) => c.charCodeAt(0)).buffer;
}

const withIDs = (list) => (list ?? []).map((c) => ({ ...c, id: fromBase64url(c.id) }));

// creationOptions turns the server's JSON options into options for
// navigator.credentials.create.
export function creationOptions(json) {
  if (typeof PublicKeyCredential.parseCreationOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: withIDs(json.excludeCredentials),
  };
}

// requestOptions turns the server's JSON options into options for
// navigator.credentials.get.
export function requestOptions(json) {
  if (typeof PublicKeyCredential.parseRequestOptionsFromJSON === 'function') {
    return PublicKeyCredential.parseRequestOptionsFromJSON(json);
  }
  return { ...json, challenge: fromBase64url(json.challenge), allowCredentials: withIDs(json.allowCredentials) };
}

// credentialJSON is credential.toJSON(), built by hand where it is missing.
export function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = typeof r.getTransports === 'function' ? r.getTransports() : [];
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  }
  const out = {
    id: cred.id,
    rawId: toBase64url(cred.rawId),
    type: cred.type,
    clientExtensionResults: cred.getClientExtensionResults(),
    response,
  };
  if (cred.authenticatorAttachment) out.authenticatorAttachment = cred.authenticatorAttachment;
  return out;
}

// ---- feature checks ------------------------------------------------------

// webauthnAvailable reports whether the browser has the WebAuthn API.
export function webauthnAvailable() {
  return typeof globalThis.PublicKeyCredential === 'function' && !!globalThis.navigator?.credentials;
}

// autofillAvailable reports whether the browser offers passkeys in the
// autofill of an input with autocomplete="username webauthn".
export async function autofillAvailable() {
  if (!webauthnAvailable() || typeof PublicKeyCredential.isConditionalMediationAvailable !== 'function') return false;
  try {
    return await PublicKeyCredential.isConditionalMediationAvailable();
  } catch {
    return false;
  }
}

// conditionalCreateAvailable reports whether the browser can create a
// passkey by conditional mediation (the silent upgrade after a code
// sign-in): PublicKeyCredential.getClientCapabilities() reports
// conditionalCreate.
export async function conditionalCreateAvailable() {
  if (!webauthnAvailable() || typeof PublicKeyCredential.getClientCapabilities !== 'function') return false;
  try {
    const caps = await PublicKeyCredential.getClientCapabilities();
    return caps?.conditionalCreate === true;
  } catch {
    return false;
  }
}

function requireWebAuthn() {
  if (!webauthnAvailable()) {
    throw new PasskeysError('webauthn_unavailable', 0, 'This browser cannot use passkeys.');
  }
}

// signal calls one method of the WebAuthn Signal API when the browser has
// it; its absence and its failures are ignored.
async function signal(method, arg) {
  try {
    if (webauthnAvailable() && typeof PublicKeyCredential[method] === 'function') {
      await PublicKeyCredential[method](arg);
    }
  } catch {
    // The Signal API is a hint to the passkey provider; nothing depends on it.
  }
}

// ---- one WebAuthn request at a time -------------------------------------

// pending is the conditional WebAuthn request (an autofill or a silent
// upgrade) of any client of this module that may wait for the person as
// long as the browser likes: { kind, owner, controller, done }. The browser
// runs one WebAuthn request at a time in a page and refuses a second
// (OperationError), so every other request of every client ends the
// pending one first.
let pending = null;

// endPending aborts the pending request, if any (only one of kind, and of
// owner, when given), and waits until the browser has let go of it.
async function endPending(kind, owner) {
  const p = pending;
  if (!p || (kind && p.kind !== kind) || (owner && p.owner !== owner)) return;
  pending = null;
  p.controller.abort();
  await p.done;
}

// beginPending ends the pending request and makes a new one of kind the
// pending one; the caller's signal aborts it too. The caller passes
// signal to the browser and calls end once the browser has answered.
async function beginPending(kind, owner, outer) {
  while (pending) await endPending();
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (outer?.aborted) abort();
  else outer?.addEventListener('abort', abort, { once: true });
  let settle;
  const entry = { kind, owner, controller, done: new Promise((resolve) => { settle = resolve; }) };
  pending = entry;
  return {
    signal: controller.signal,
    end() {
      if (pending === entry) pending = null;
      outer?.removeEventListener('abort', abort);
      settle();
    },
  };
}

// modals counts the modal WebAuthn requests (those with a prompt) of the
// module running in the page; idle holds the callbacks waiting for none.
let modals = 0;
let idle = [];

function modalDone() {
  modals--;
  if (modals > 0) return;
  const waiting = idle;
  idle = [];
  for (const go of waiting) go();
}

// noModal resolves when no modal request runs, or rejects with an
// AbortError when signal aborts first.
function noModal(signal) {
  if (modals === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const go = () => {
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    const stop = () => {
      idle = idle.filter((f) => f !== go);
      reject(new DOMException('The request was aborted.', 'AbortError'));
    };
    if (signal?.aborted) {
      stop();
      return;
    }
    idle.push(go);
    signal?.addEventListener('abort', stop, { once: true });
  });
}

// pendingNow calls the caller's onPending once the browser holds the
// request; its failures are not the ceremony's.
function pendingNow(onPending) {
  try {
    onPending?.();
  } catch {
    // The callback only reports progress.
  }
}

// browserRequest runs navigator.credentials[method](options). A modal
// request (without mediation "conditional") ends the pending conditional
// one first and holds off new ones until it is done; a conditional one
// (the pending request of an autofill or upgrade) waits until no modal
// request runs.
async function browserRequest(method, options, onPending) {
  if (options.mediation === 'conditional') {
    await noModal(options.signal);
    const request = navigator.credentials[method](options);
    pendingNow(onPending);
    return request;
  }
  modals++;
  try {
    while (pending) await endPending();
    const request = navigator.credentials[method](options);
    pendingNow(onPending);
    return await request;
  } finally {
    modalDone();
  }
}

// sendSignal is signal, after ending a pending silent upgrade when the
// browser has the method: Chromium does not apply signals while a
// conditional create waits, and what they say is of more use than a
// passkey the password manager may never add.
async function sendSignal(method, arg) {
  if (pending?.kind === 'upgrade' && webauthnAvailable() && typeof PublicKeyCredential[method] === 'function') {
    await endPending('upgrade');
  }
  await signal(method, arg);
}

// ---- the client ----------------------------------------------------------

// createClient returns a client of the API mounted at options.baseURL (by
// default the folder this module was loaded from, such as /auth/).
//
// Cookie mode, the default: no token is sent; the browser sends the
// session cookie (options.credentials, "same-origin" by default, or
// "include" for an API on another origin).
//
// Bearer mode: options.token is the session token, or a function that
// returns it (called before every request); the caller keeps the
// sessionToken that confirmCode and the sign-in calls return.
export function createClient(options = {}) {
  const base = new URL(options.baseURL ?? '.', import.meta.url);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const credentials = options.credentials ?? 'same-origin';
  const doFetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
  const tokenOf = typeof options.token === 'function' ? options.token : () => options.token;
  let rpId = options.rpId ?? '';
  let knownPasskeys = [];
  // owner marks the pending request this client started.
  const owner = {};

  const learnRP = (id) => {
    if (typeof id === 'string' && id) rpId = id;
  };

  // call sends one JSON request and returns the decoded answer, or null
  // for 204.
  async function call(method, path, body) {
    const headers = { Accept: 'application/json' };
    const token = tokenOf();
    if (token) headers.Authorization = 'Bearer ' + token;
    const init = { method, headers, credentials };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await doFetch(new URL(path, base).href, init);
    } catch (err) {
      throw new PasskeysError('network', 0, 'The server could not be reached.', 0, err);
    }
    if (res.status === 204) return null;
    const data = await res.json().catch(() => null);
    if (res.ok && data) return data;
    throw new PasskeysError(
      typeof data?.code === 'string' ? data.code : `http_${res.status}`,
      res.status,
      typeof data?.detail === 'string' ? data.detail : `The server answered ${res.status}.`,
      retryAfterSeconds(res.headers.get('Retry-After')),
      undefined,
      data && typeof data === 'object' ? data : undefined,
    );
  }

  // signals hands the server's Signal API data of an answer to the
  // browser, where it has the functions: the accepted passkeys always,
  // the current user details only after a login (withDetails), where the
  // person has just shown which account is theirs.
  async function signals(answer, withDetails = false) {
    const s = answer?.signals;
    if (!s) return;
    learnRP(s.allAcceptedCredentials?.rpId);
    if (s.allAcceptedCredentials) await sendSignal('signalAllAcceptedCredentials', s.allAcceptedCredentials);
    if (withDetails && s.currentUserDetails) await sendSignal('signalCurrentUserDetails', s.currentUserDetails);
  }

  // login finishes a passkey login; a passkey no account owns
  // (unknown_credential) is signalled as unknown to the browser.
  async function login(path, cred) {
    let session;
    try {
      session = await call('POST', path, { assertionResponse: credentialJSON(cred) });
    } catch (err) {
      const id = err.problem?.credentialId;
      if (err.code === 'unknown_credential' && rpId && typeof id === 'string') {
        await sendSignal('signalUnknownCredential', { rpId, credentialId: id });
      }
      throw err;
    }
    await signals(session, true);
    return session;
  }

  // create runs navigator.credentials.create (see browserRequest).
  async function create(publicKey, extra = {}, onPending) {
    requireWebAuthn();
    learnRP(publicKey.rp?.id);
    try {
      return await browserRequest('create', { ...extra, publicKey: creationOptions(publicKey) }, onPending);
    } catch (err) {
      throw webauthnError(err);
    }
  }

  // get runs navigator.credentials.get (see browserRequest).
  async function get(publicKey, extra = {}, onPending) {
    requireWebAuthn();
    learnRP(publicKey.rpId);
    try {
      return await browserRequest('get', { ...extra, publicKey: requestOptions(publicKey) }, onPending);
    } catch (err) {
      throw webauthnError(err);
    }
  }

  // withHints adds the caller's hints to a start request's body, when
  // given; the server checks them.
  const withHints = (body, hints) => (hints === undefined ? body : { ...body, hints });

  // upgrade runs the silent passkey upgrade of upgradePasskey; it never
  // throws.
  async function upgrade({ signal: outer, hints, onPending } = {}) {
    if (!(await conditionalCreateAvailable())) return { outcome: 'unsupported' };
    const declined = (reason, error) => (error === undefined ? { outcome: 'declined', reason } : { outcome: 'declined', reason, error });
    // An upgrade aborted before it starts ends no other request.
    if (outer?.aborted) return declined('aborted');
    const p = await beginPending('upgrade', owner, outer);
    try {
      if (p.signal.aborted) return declined('aborted');
      let start;
      try {
        start = await call('POST', 'passkey/append/start', withHints({ mediation: 'conditional' }, hints));
      } catch (err) {
        return declined(err.code === 'not_supported' ? 'not_supported' : 'failed', err);
      }
      if (p.signal.aborted) return declined('aborted');
      if (!start.appendAllow || start.attestationOptions?.mediation !== 'conditional') return declined('not_offered');
      let cred;
      try {
        cred = await create(start.attestationOptions.publicKey, { mediation: 'conditional', signal: p.signal }, onPending);
      } catch (err) {
        if (p.signal.aborted || err.code === 'webauthn_aborted') return declined('aborted', err);
        return declined('refused', err);
      }
      // From here on nothing waits for the person: another request must
      // not end the finish.
      p.end();
      try {
        const { passkey } = await call('POST', 'passkey/append/finish', { attestationResponse: credentialJSON(cred) });
        return { outcome: 'added', passkey };
      } catch (err) {
        return declined('failed', err);
      }
    } catch (err) {
      return declined('failed', webauthnError(err));
    } finally {
      p.end();
    }
  }

  const client = {
    get rpId() {
      return rpId;
    },

    // requestCode sends a one-time code to email.
    requestCode: (email) => call('POST', 'signUpOrLogin', { email }),

    // confirmCode signs in (or up) with the code sent to email.
    confirmCode: (email, otp) => call('POST', 'signUpOrLogin', { email, otp }),

    // addPasskey creates a passkey for the signed-in user and returns it.
    // options.hints ("security-key", "client-device", "hybrid") go to the
    // server in the start request (it checks them and puts them in the
    // options); options.signal aborts the browser's prompt; options.onPending
    // is called once the browser holds the request. A waiting autofill or
    // silent upgrade (of any client of this module) is ended first right
    // before the browser's request. With options.mediation
    // "conditional" it is upgradePasskey(options).
    async addPasskey(options = {}) {
      if (options.mediation === 'conditional') return upgrade(options);
      const start = await call('POST', 'passkey/append/start', withHints({}, options.hints));
      if (!start.appendAllow) {
        throw new PasskeysError('append_not_allowed', 200, 'Adding a passkey is not available for this account right now.');
      }
      const extra = options.signal ? { signal: options.signal } : {};
      const cred = await create(start.attestationOptions.publicKey, extra, options.onPending);
      const { passkey } = await call('POST', 'passkey/append/finish', { attestationResponse: credentialJSON(cred) });
      return passkey;
    },

    // upgradePasskey asks the browser to add a passkey without a prompt (a
    // conditional create), as a password manager may right after a sign-in
    // by code. The person did not ask for it, so it never throws: it
    // resolves to {outcome: "unsupported"} when the browser does not report
    // conditionalCreate (PublicKeyCredential.getClientCapabilities), to
    // {outcome: "added", passkey}, or to {outcome: "declined", reason,
    // error?}, where reason is "not_supported" (the server cannot, as the
    // Corbado backend answers), "not_offered" (no append for this account),
    // "aborted" (signal, or another passkey request, ended it), "refused" (the browser or password manager declined) or
    // "failed" (anything else; error says what). onPending, if given, is
    // called once the browser holds the request, which may stay pending as
    // long as the password manager likes; every other passkey request (of
    // any client of this module), this client's signOut and deleteAccount,
    // and a call that passes signals to the browser end it first (the
    // browser refuses a second request while one is pending, and applies
    // no signals).
    upgradePasskey: (options = {}) => upgrade(options),

    // signInWithPasskey signs email in with one of its passkeys; it returns
    // null when the account has none (or is unknown): send a code instead.
    // options.hints go to the server as addPasskey's do.
    async signInWithPasskey(email, options = {}) {
      const start = await call('POST', 'passkey/login/start', withHints({ email }, options.hints));
      if (!start.loginAllow) return null;
      const extra = options.signal ? { signal: options.signal } : {};
      const cred = await get(start.assertionOptions.publicKey, extra, options.onPending);
      return login('passkey/login/finish', cred);
    },

    // autofill waits for the person to pick a passkey in the autofill of
    // an input with autocomplete="username webauthn" and signs in with it.
    // It resolves to null when signal aborts the wait, when another
    // passkey request (of any client of this module) ends it, when the
    // person dismisses
    // the prompt, or when the server offers no passkey login.
    // options.onPending is called once the browser waits for a pick.
    async autofill({ signal: outer, onPending } = {}) {
      const p = await beginPending('autofill', owner, outer);
      try {
        const start = await call('POST', 'passkey/mediation/start', {});
        if (p.signal.aborted || !start.loginAllow) return null;
        let cred;
        try {
          cred = await get(start.assertionOptions.publicKey, { mediation: 'conditional', signal: p.signal }, onPending);
        } catch (err) {
          if (p.signal.aborted || err.code === 'webauthn_not_allowed' || err.code === 'webauthn_aborted') return null;
          throw err;
        }
        // Signing in must not wait for this request to end.
        p.end();
        return await login('passkey/mediation/finish', cred);
      } finally {
        p.end();
      }
    },

    // cancelPending ends a waiting autofill or silent upgrade (of any
    // client of this module: the browser holds one request per page) and
    // resolves once the browser has let go of it. Every other passkey
    // request does this by itself.
    cancelPending: () => endPending(),

    // listPasskeys returns the signed-in user's passkeys, oldest first.
    async listPasskeys() {
      const answer = await call('GET', 'passkeys');
      knownPasskeys = answer.passkeys.map((p) => p.id);
      await signals(answer);
      return answer.passkeys;
    },

    // deletePasskey deletes one of the signed-in user's passkeys and, with
    // the Signal API, tells the passkey provider it is no longer accepted.
    async deletePasskey(id) {
      const answer = await call('DELETE', 'passkeys/' + encodeURIComponent(id));
      await signals(answer);
      knownPasskeys = knownPasskeys.filter((k) => k !== id);
      if (rpId) await sendSignal('signalUnknownCredential', { rpId, credentialId: id });
    },

    // renamePasskey gives one of the signed-in user's passkeys a new name
    // (trimmed by the server, 1 to 64 characters) and returns it.
    renamePasskey: (id, name) => call('PATCH', 'passkeys/' + encodeURIComponent(id), { name }).then((r) => r.passkey),

    // signOut ends the session (and a waiting silent upgrade).
    async signOut() {
      await endPending('upgrade', owner);
      await call('POST', 'logout', {});
    },

    // listSessions returns the signed-in user's sessions.
    listSessions: () => call('GET', 'sessions').then((r) => r.sessions),

    // revokeSession ends one of the signed-in user's sessions.
    revokeSession: (id) => call('DELETE', 'sessions/' + encodeURIComponent(id)).then(() => undefined),

    // getAccount returns the data export of the signed-in user.
    getAccount: () => call('GET', 'account'),

    // deleteAccount deletes the signed-in user's account and, with the
    // Signal API, tells the passkey provider that the passkeys listed
    // before (listPasskeys) are no longer accepted.
    async deleteAccount() {
      await call('DELETE', 'account');
      await endPending('upgrade', owner);
      const ids = knownPasskeys;
      knownPasskeys = [];
      if (rpId) await Promise.all(ids.map((credentialId) => signal('signalUnknownCredential', { rpId, credentialId })));
    },

    // listActivity returns the signed-in user's recorded security events,
    // newest first (GET account/activity); a server that keeps none
    // answers 404 not_found.
    listActivity: () => call('GET', 'account/activity').then((r) => r.activity),

    // requestEmailChange sends a code to the new address email.
    requestEmailChange: (email) => call('POST', 'account/email', { email }),

    // confirmEmailChange moves the account to email with the code sent
    // there; every other session ends.
    confirmEmailChange: (email, otp) => call('POST', 'account/email', { email, otp }),
  };
  return client;
}
