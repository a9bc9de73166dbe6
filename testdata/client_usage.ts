// Uses every export of client.d.ts, so that tsc --noEmit (.ci/run) fails
// when the declarations and their use drift apart.
import {
  createClient,
  PasskeysError,
  webauthnAvailable,
  autofillAvailable,
  conditionalCreateAvailable,
  toBase64url,
  fromBase64url,
  creationOptions,
  requestOptions,
  credentialJSON,
  type Account,
  type Activity,
  type AddPasskeyOptions,
  type Hint,
  type PasskeyRequestOptions,
  type Provider,
  type UpgradeResult,
  type ClientOptions,
  type CodeSent,
  type Passkey,
  type PasskeysClient,
  type Session,
  type SessionInfo,
} from '../client.js';

async function use(): Promise<void> {
  const options: ClientOptions = { baseURL: '/auth/', credentials: 'same-origin', rpId: 'example.com', fetch };
  const cookie: PasskeysClient = createClient(options);
  let token: string | null = null;
  const bearer = createClient({ token: () => token });
  const sent: CodeSent = await cookie.requestCode('a@example.com');
  const expires: number = sent.expiresInSeconds;
  const s: Session = await bearer.confirmCode('a@example.com', '123456');
  token = s.sessionToken ?? null;
  const p: Passkey = await bearer.addPasskey();
  const hints: Hint[] = ['security-key', 'hybrid'];
  const request: PasskeyRequestOptions = { hints, signal: new AbortController().signal, onPending: () => {} };
  const p2: Passkey = await bearer.addPasskey(request);
  const upgradeOptions: AddPasskeyOptions = { mediation: 'conditional', hints: ['client-device'] };
  const up: UpgradeResult = await bearer.addPasskey({ mediation: 'conditional', onPending: () => {} });
  const upgrade: UpgradeResult = await bearer.upgradePasskey({ signal: new AbortController().signal, onPending: () => {} });
  const upgraded: Passkey | null = upgrade.outcome === 'added' ? upgrade.passkey : null;
  const why: string = upgrade.outcome === 'declined' ? upgrade.error?.code ?? upgrade.reason : upgrade.outcome;
  const again: Session | null = await bearer.signInWithPasskey(s.user.email);
  const hinted: Session | null = await bearer.signInWithPasskey(s.user.email, { hints: ['client-device'] });
  const controller = new AbortController();
  let offered = false;
  const auto: Session | null = await bearer.autofill({ signal: controller.signal, onPending: () => { offered = true; } });
  controller.abort();
  await bearer.cancelPending();
  const passkeys: Passkey[] = await bearer.listPasskeys();
  const provider: Provider | undefined = passkeys[0].provider;
  const lastUsed: string | null | undefined = passkeys[0].lastUsedAt;
  const renamed: Passkey = await bearer.renamePasskey(p.id, 'Work laptop');
  await bearer.deletePasskey(p.id);
  const activity: Activity[] = await bearer.listActivity();
  const kind: string = activity[0].kind;
  const sessions: SessionInfo[] = await bearer.listSessions();
  await bearer.revokeSession(sessions[0].id);
  const account: Account = await bearer.getAccount();
  await bearer.requestEmailChange('b@example.com');
  const moved: Session = await bearer.confirmEmailChange('b@example.com', '654321');
  await bearer.signOut();
  await bearer.deleteAccount();
  const rp: string = bearer.rpId;
  const can: boolean = webauthnAvailable() && (await autofillAvailable()) && (await conditionalCreateAvailable());
  const text: string = toBase64url(fromBase64url('AQID'));
  const bytes: string = toBase64url(new Uint8Array([1, 2, 3]));
  const create: PublicKeyCredentialCreationOptions = creationOptions({
    challenge: 'AQID', rp: { name: 'x' }, user: { id: 'AQID', name: 'a', displayName: 'a' }, pubKeyCredParams: [],
  });
  const get: PublicKeyCredentialRequestOptions = requestOptions({ challenge: 'AQID' });
  const cred = (await navigator.credentials.get({ publicKey: get })) as PublicKeyCredential;
  const json = credentialJSON(cred);
  void [p2, upgradeOptions, up, upgraded, why, offered, hinted, provider, lastUsed, renamed, kind, expires, again, auto, passkeys, account, moved, rp, can, text, bytes, create, json];
  try {
    await cookie.requestCode('');
  } catch (err) {
    if (err instanceof PasskeysError) {
      const fields: [string, number, string, number, unknown, Record<string, unknown> | undefined] = [err.code, err.status, err.detail, err.retryAfter, err.cause, err.problem];
      void fields;
    }
  }
  throw new PasskeysError('too_many_attempts', 429, 'Too many attempts.', 30);
}
void use;
