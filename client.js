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
    if (s.allAcceptedCredentials) await signal('signalAllAcceptedCredentials', s.allAcceptedCredentials);
    if (withDetails && s.currentUserDetails) await signal('signalCurrentUserDetails', s.currentUserDetails);
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
        await signal('signalUnknownCredential', { rpId, credentialId: id });
      }
      throw err;
    }
    await signals(session, true);
    return session;
  }

  async function create(publicKey, extra = {}) {
    requireWebAuthn();
    learnRP(publicKey.rp?.id);
    try {
      return await navigator.credentials.create({ ...extra, publicKey: creationOptions(publicKey) });
    } catch (err) {
      throw webauthnError(err);
    }
  }

  async function get(publicKey, extra = {}) {
    requireWebAuthn();
    learnRP(publicKey.rpId);
    try {
      return await navigator.credentials.get({ ...extra, publicKey: requestOptions(publicKey) });
    } catch (err) {
      throw webauthnError(err);
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
    async addPasskey() {
      const start = await call('POST', 'passkey/append/start', {});
      if (!start.appendAllow) {
        throw new PasskeysError('append_not_allowed', 200, 'Adding a passkey is not available for this account right now.');
      }
      const cred = await create(start.attestationOptions.publicKey);
      const { passkey } = await call('POST', 'passkey/append/finish', { attestationResponse: credentialJSON(cred) });
      return passkey;
    },

    // upgradePasskey asks the browser to add a passkey without a prompt (a
    // conditional create), as a password manager may right after a sign-in
    // by code. The person did not ask for it, so it never throws: it
    // resolves to {outcome: "unsupported"} when the browser does not report
    // conditionalCreate (PublicKeyCredential.getClientCapabilities), to
    // {outcome: "declined", error?} when the server offers none (the Corbado
    // backend answers not_supported), signal aborts it, or the browser or
    // password manager declines, and to {outcome: "added", passkey}.
    // onPending, if given, is called once the browser holds the request,
    // which may stay pending as long as the password manager likes: abort
    // it (signal) before any other passkey request, which the browser
    // refuses while one is pending.
    async upgradePasskey({ signal: abort, onPending } = {}) {
      try {
        if (!webauthnAvailable() || typeof PublicKeyCredential.getClientCapabilities !== 'function') {
          return { outcome: 'unsupported' };
        }
        const caps = await PublicKeyCredential.getClientCapabilities();
        if (caps?.conditionalCreate !== true) return { outcome: 'unsupported' };
        if (abort?.aborted) return { outcome: 'declined' };
        const start = await call('POST', 'passkey/append/start', { mediation: 'conditional' });
        if (abort?.aborted || !start.appendAllow || start.attestationOptions?.mediation !== 'conditional') {
          return { outcome: 'declined' };
        }
        const request = create(start.attestationOptions.publicKey, { mediation: 'conditional', signal: abort });
        if (typeof onPending === 'function') onPending();
        const cred = await request;
        const { passkey } = await call('POST', 'passkey/append/finish', { attestationResponse: credentialJSON(cred) });
        return { outcome: 'added', passkey };
      } catch (err) {
        return { outcome: 'declined', error: err instanceof PasskeysError ? err : webauthnError(err) };
      }
    },

    // signInWithPasskey signs email in with one of its passkeys; it returns
    // null when the account has none (or is unknown): send a code instead.
    async signInWithPasskey(email) {
      const start = await call('POST', 'passkey/login/start', { email });
      if (!start.loginAllow) return null;
      const cred = await get(start.assertionOptions.publicKey);
      return login('passkey/login/finish', cred);
    },

    // autofill waits for the person to pick a passkey in the autofill of
    // an input with autocomplete="username webauthn" and signs in with it.
    // It resolves to null when signal aborts the wait, when the person
    // dismisses the prompt, or when the server offers no passkey login.
    // onPending, if given, is called once the browser holds the request,
    // that is, once the autofill offers passkeys.
    async autofill({ signal: abort, onPending } = {}) {
      const start = await call('POST', 'passkey/mediation/start', {});
      if (abort?.aborted || !start.loginAllow) return null;
      let cred;
      try {
        const request = get(start.assertionOptions.publicKey, { mediation: 'conditional', signal: abort });
        if (typeof onPending === 'function') onPending();
        cred = await request;
      } catch (err) {
        if (abort?.aborted || err.code === 'webauthn_not_allowed' || err.code === 'webauthn_aborted') return null;
        throw err;
      }
      return login('passkey/mediation/finish', cred);
    },

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
      if (rpId) await signal('signalUnknownCredential', { rpId, credentialId: id });
    },

    // signOut ends the session.
    signOut: () => call('POST', 'logout', {}).then(() => undefined),

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
      const ids = knownPasskeys;
      knownPasskeys = [];
      if (rpId) await Promise.all(ids.map((credentialId) => signal('signalUnknownCredential', { rpId, credentialId })));
    },

    // requestEmailChange sends a code to the new address email.
    requestEmailChange: (email) => call('POST', 'account/email', { email }),

    // confirmEmailChange moves the account to email with the code sent
    // there; every other session ends.
    confirmEmailChange: (email, otp) => call('POST', 'account/email', { email, otp }),
  };
  return client;
}
