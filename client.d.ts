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
  lastUsedAt?: string;
  backupEligible?: boolean;
  backedUp?: boolean;
  transports?: string[];
  aaguid?: string;
  [more: string]: unknown;
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

/**
 * What upgradePasskey did: `unsupported` (the browser reports no conditionalCreate), `declined` (the server
 * offers none, it was aborted, or the browser or password manager declined; error says why, if known) or
 * `added`.
 */
export type UpgradeResult =
  | { outcome: 'added'; passkey: Passkey }
  | { outcome: 'unsupported' }
  | { outcome: 'declined'; error?: PasskeysError };

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
  /** Throws PasskeysError `append_not_allowed` when the server offers no append. */
  addPasskey(): Promise<Passkey>;
  /**
   * A silent passkey upgrade (conditional create), as after a sign-in by code. Never throws.
   * onPending is called once the browser holds the request; abort it (signal) before any other passkey request.
   */
  upgradePasskey(options?: { signal?: AbortSignal; onPending?: () => void }): Promise<UpgradeResult>;
  /** Resolves to null when the account has no passkey (or is unknown): send a code instead. */
  signInWithPasskey(email: string): Promise<Session | null>;
  /**
   * Resolves to null when signal aborts, the person dismisses the prompt, or no passkey login is offered.
   * onPending is called once the browser holds the request (the autofill offers passkeys).
   */
  autofill(options?: { signal?: AbortSignal; onPending?: () => void }): Promise<Session | null>;
  listPasskeys(): Promise<Passkey[]>;
  deletePasskey(id: string): Promise<void>;
  signOut(): Promise<void>;
  listSessions(): Promise<SessionInfo[]>;
  revokeSession(id: string): Promise<void>;
  getAccount(): Promise<Account>;
  deleteAccount(): Promise<void>;
  requestEmailChange(email: string): Promise<CodeSent>;
  confirmEmailChange(email: string, otp: string): Promise<Session>;
}

export declare function createClient(options?: ClientOptions): PasskeysClient;
export declare function webauthnAvailable(): boolean;
export declare function autofillAvailable(): Promise<boolean>;
export declare function toBase64url(buffer: ArrayBuffer | ArrayBufferView): string;
export declare function fromBase64url(text: string): ArrayBuffer;
export declare function creationOptions(json: PublicKeyCredentialCreationOptionsJSON): PublicKeyCredentialCreationOptions;
export declare function requestOptions(json: PublicKeyCredentialRequestOptionsJSON): PublicKeyCredentialRequestOptions;
export declare function credentialJSON(cred: PublicKeyCredential): PublicKeyCredentialJSON;
