// TypeScript declarations of client.js, the browser client of the passkeys
// HTTP API, served by the handler at GET client.d.ts.

/** Every failure of the client. */
export declare class PasskeysError extends Error {
  constructor(code: string, status: number, detail: string, retryAfter?: number, cause?: unknown, problem?: Record<string, unknown>);
  readonly name: 'PasskeysError';
  /**
   * The server's problem+json code (`too_many_attempts`, `otp_invalid`, ...),
   * `network` when the server could not be reached, `append_not_allowed`,
   * `webauthn_unavailable`, or a WebAuthn failure: `webauthn_not_allowed`,
   * `webauthn_aborted`, `webauthn_invalid_state`, `webauthn_security`,
   * `webauthn_not_supported`, `webauthn_constraint`, `webauthn_failed`.
   */
  readonly code: string;
  /** The HTTP status; 0 when the server did not answer. */
  readonly status: number;
  /** A sentence for people. */
  readonly detail: string;
  /** Seconds from the Retry-After header; 0 when there was none. */
  readonly retryAfter: number;
  /** The DOMException or TypeError behind the failure, if any. */
  readonly cause?: unknown;
  /** The server's problem+json body, if any; `unknown_credential` names its `credentialId` there. */
  readonly problem?: Record<string, unknown>;
}

export interface User {
  id: string;
  email: string;
}

export interface CodeSent {
  otpSent: boolean;
  expiresInSeconds: number;
}

/** A sign-in. sessionToken is absent in cookie mode. */
export interface Session {
  sessionToken?: string;
  user: User;
  newUser?: boolean;
}

export interface Passkey {
  id: string;
  name: string;
  createdAt: string;
  lastUsedAt?: string | null;
  backupEligible?: boolean;
  backedUp?: boolean;
  transports?: string[];
  aaguid?: string;
  /** The passkey provider, when the AAGUID is known. Its icons are untrusted data URIs: show them as an image, never as markup. */
  provider?: Provider;
  [more: string]: unknown;
}

export interface Provider {
  name: string;
  iconLight?: string;
  iconDark?: string;
}

export interface SessionInfo {
  id: string;
  createdAt: string;
  lastSeenAt?: string;
  userAgent?: string;
  authentication?: { method: string; newUser?: boolean; at: string };
  current: boolean;
  [more: string]: unknown;
}

export interface Account {
  user: User;
  passkeys: Passkey[];
  sessions?: SessionInfo[];
  [more: string]: unknown;
}

/** One recorded security event of the signed-in user (GET account/activity). */
export interface Activity {
  /** What happened: from selfhosted.NewActivitySink one of sign_up, login, passkey_added, passkey_renamed, passkey_removed, session_revoked, email_changed, code_failed, rate_limited (selfhosted.ActivityKinds); another ActivityLister may send other kinds. */
  kind: string;
  at: string;
  /** How the user signed in, for sign_up and login. */
  method?: string;
  /** The passkey's name (passkey_added; the new name for passkey_renamed; passkey_removed has none), or the event's reason (code_failed, rate_limited, session_revoked). */
  detail?: string;
  ip: string;
  userAgent: string;
  [more: string]: unknown;
}

/** The standard WebAuthn hints the server may put in the options. */
export type Hint = 'security-key' | 'client-device' | 'hybrid';

export interface PasskeyRequestOptions {
  /** Sent in the start request; the server checks them and puts them in the options. */
  hints?: Hint[];
  /** Aborts the browser's request. */
  signal?: AbortSignal;
  /** Called once the browser holds the WebAuthn request. */
  onPending?: () => void;
}

export interface AddPasskeyOptions extends PasskeyRequestOptions {
  /** "conditional": the silent upgrade, as upgradePasskey. */
  mediation?: 'conditional';
}

/**
 * What upgradePasskey did: `unsupported` (the browser reports no conditionalCreate), `added`, or
 * `declined`, with reason `not_supported` (the server cannot create a passkey so), `not_offered` (no
 * append for this account), `aborted` (the signal or another passkey request of the client ended it),
 * `refused` (the browser or password manager declined) or `failed`; error says why, if known.
 */
export type UpgradeResult =
  | { outcome: 'added'; passkey: Passkey }
  | { outcome: 'unsupported' }
  | { outcome: 'declined'; reason: 'not_supported' | 'not_offered' | 'aborted' | 'refused' | 'failed'; error?: PasskeysError };

export interface ClientOptions {
  /** Where the API is mounted; by default the folder client.js was loaded from. */
  baseURL?: string | URL;
  /** Bearer mode: the session token, or a function called before each request that returns it. */
  token?: string | null | (() => string | null | undefined);
  /** Cookie mode's fetch credentials: "same-origin" (default) or "include" for an API on another origin. */
  credentials?: RequestCredentials;
  /** The relying party ID for the Signal API, until the client learns it from the server's options. */
  rpId?: string;
  /** The fetch to use; globalThis.fetch by default. */
  fetch?: typeof fetch;
}

export interface PasskeysClient {
  /** The relying party ID learned from the server's options, or "". */
  readonly rpId: string;
  requestCode(email: string): Promise<CodeSent>;
  confirmCode(email: string, otp: string): Promise<Session>;
  /** With mediation "conditional": upgradePasskey(options). */
  addPasskey(options: AddPasskeyOptions & { mediation: 'conditional' }): Promise<UpgradeResult>;
  /** Throws PasskeysError `append_not_allowed` when the server offers no append. */
  addPasskey(options?: PasskeyRequestOptions & { mediation?: undefined }): Promise<Passkey>;
  /**
   * A silent passkey upgrade (conditional create), as after a sign-in by code. Never throws.
   * onPending is called once the browser holds the request, which may stay pending; every other passkey
   * request (of any client of the module), this client's signOut and deleteAccount, and a call that passes
   * signals to the browser end it first.
   */
  upgradePasskey(options?: PasskeyRequestOptions): Promise<UpgradeResult>;
  /** Resolves to null when the account has no passkey (or is unknown): send a code instead. */
  signInWithPasskey(email: string, options?: PasskeyRequestOptions): Promise<Session | null>;
  /** Resolves to null when signal aborts, another passkey request ends it, the person dismisses the prompt, or no passkey login is offered. */
  /**
   * onPending is called once the browser holds the request (the autofill offers passkeys); another passkey
   * request ends it (null). Started while a passkey request with a prompt runs, it asks the browser only once that is done.
   */
  autofill(options?: { signal?: AbortSignal; onPending?: () => void }): Promise<Session | null>;
  /** Ends a waiting autofill or silent upgrade (of any client of the module); resolves once the browser has let go of it. */
  cancelPending(): Promise<void>;
  listPasskeys(): Promise<Passkey[]>;
  deletePasskey(id: string): Promise<void>;
  /** PATCH passkeys/{id}: the server trims the name (1 to 64 characters); `not_supported` where the backend keeps no names. */
  renamePasskey(id: string, name: string): Promise<Passkey>;
  signOut(): Promise<void>;
  listSessions(): Promise<SessionInfo[]>;
  revokeSession(id: string): Promise<void>;
  getAccount(): Promise<Account>;
  deleteAccount(): Promise<void>;
  /** Newest first; PasskeysError `not_found` (404) when the server keeps no activity. */
  listActivity(): Promise<Activity[]>;
  requestEmailChange(email: string): Promise<CodeSent>;
  confirmEmailChange(email: string, otp: string): Promise<Session>;
}

export declare function createClient(options?: ClientOptions): PasskeysClient;
export declare function webauthnAvailable(): boolean;
export declare function autofillAvailable(): Promise<boolean>;
export declare function conditionalCreateAvailable(): Promise<boolean>;
export declare function toBase64url(buffer: ArrayBuffer | ArrayBufferView): string;
export declare function fromBase64url(text: string): ArrayBuffer;
export declare function creationOptions(json: PublicKeyCredentialCreationOptionsJSON): PublicKeyCredentialCreationOptions;
export declare function requestOptions(json: PublicKeyCredentialRequestOptionsJSON): PublicKeyCredentialRequestOptions;
export declare function credentialJSON(cred: PublicKeyCredential): PublicKeyCredentialJSON;
