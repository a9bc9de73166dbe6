// Package passkeys makes an existing Go backend passkey-ready. Mount the
// [Handler] returned by [New] under a path of your choice, with the prefix
// stripped (http.StripPrefix), and it serves:
//
//	POST   signUpOrLogin            {"email"}            send a one-time code
//	POST   signUpOrLogin            {"email","otp"}      check it; sign up or log in
//	POST   passkey/append/start     {["mediation"|"hints"]} (session) creation options
//	POST   passkey/append/finish    {"attestationResponse"} (session) store the passkey
//	POST   passkey/login/start      {"email"[,"hints"]}  request options for that account
//	POST   passkey/login/finish     {"assertionResponse"}  log in
//	POST   passkey/mediation/start  {}                   conditional-UI (autofill) options
//	POST   passkey/mediation/finish {"assertionResponse"}  log in
//	GET    passkeys                          (session) list the user's passkeys
//	DELETE passkeys/{id}                     (session, recent) delete one of them
//	PATCH  passkeys/{id}            {"name"}             (session) rename one of them (PasskeyRenamer)
//	POST   logout                   {}       (session) end the presented session
//	GET    sessions                          (session) list the user's sessions
//	DELETE sessions/{id}                     (session; recent for another one) end one of them
//	GET    account                           (session) the user, passkeys and sessions
//	DELETE account                           (session, recent) delete the account
//	POST   account/email            {"email"[,"otp"]} (session, recent) change the email
//	GET    account/activity                  (session) the user's recent security events (Options.Activity)
//	GET    openapi.json                      this API's OpenAPI 3.1 description
//	GET    client.js                         the browser client module
//	GET    client.d.ts                       its TypeScript declarations
//
// Passkeys carry the provider named by their AAGUID ([Provider]), and a
// new passkey is named after it. passkey/append/start with
// {"mediation":"conditional"} starts the automatic passkey upgrade, a
// conditional create that the password manager may complete without a
// prompt; see [ConditionalAppender]. The append and button login starts
// take optional WebAuthn hints ([HintSecurityKey], [HintClientDevice],
// [HintHybrid]; see [Client.Hints]) for the options' publicKey.hints.
//
// [OpenAPI] returns that description, the module's openapi.json, from
// which clients can be generated. client.js ([ClientScript]) is a
// dependency-free ES module for the browser that wraps the flows and turns
// every failure into one PasskeysError; [ClientVersion] is its content hash.
//
// The flow for a new user is: email and one-time code (sign-up), then
// "add a passkey" (append), and from then on passkey login, either by
// button (login start with the email) or from the browser's autofill
// (mediation). Every successful login returns a sessionToken, sent back as
// "Authorization: Bearer <token>" to the routes marked (session) and to
// the application's own routes wrapped by [Handler.RequireSession].
//
// With [Options.Cookie] the login answers set the session as an HttpOnly
// cookie instead (the token then stays out of the JSON), logout clears
// it, and the guard accepts it when a request has no Authorization
// header. Every unsafe request that relies on the cookie, or would set
// it, must pass Go's [net/http.CrossOriginProtection] and name one of the
// configured origins in its Origin header, if it has one; otherwise it is
// refused with [ErrCrossOriginRequest] and changes nothing. With
// [Options.CORS] pages of the listed origins may call the handler from
// another origin; [Handler.CORS] applies the same policy to the
// application's own routes.
//
// With [Options.Events] the handler reports what happens (sign-ups,
// logins by method, codes sent and failed, passkeys added and removed,
// sessions, account changes, rate limits, failed verifications, answered
// requests) as typed [Event] values to an [EventSink], from a goroutine of
// its own so that no sink delays a response. [NewAuditLog] writes them to
// a slog.Logger, [NewSecurityNotifications] tells an account's owner about
// passkeys added or removed and email changes, and package passkeysprom
// counts them as Prometheus metrics. Every response carries X-Request-ID.
//
// Options and responses are the JSON forms the browser's WebAuthn API
// takes and gives: PublicKeyCredential.parseCreationOptionsFromJSON /
// parseRequestOptionsFromJSON and credential.toJSON(). Clients send nothing
// but the browser's response: the server finds each ceremony by the
// challenge inside clientDataJSON. Ceremony state, one-time codes (as keyed
// hashes only), users and credentials stay on the server, in the
// [Backend]: the self-hosted engine (package selfhosted, with SQLite,
// PostgreSQL or in-memory storage) or Corbado's Backend API.
//
// Native Android and iOS apps use the same endpoints. [WellKnown] serves,
// at the root of the RP ID's host, the documents their OS and browsers
// look for first: assetlinks.json for [AndroidApp] entries,
// apple-app-site-association for Apple app IDs and /.well-known/webauthn
// for related origins; selfhosted's Engine.WellKnown feeds it from the
// engine's own configuration, which also accepts the apps' origins.
//
// Errors are RFC 9457 application/problem+json documents with a stable
// machine-readable "code"; see [Error]. The Corbado backend keeps
// Corbado's own answer as the cause, a [*CorbadoAPIError].
//
// Emails are put in one canonical form per mailbox before anything keys
// on them (accounts and every per-email limit); addresses that display
// like another one or that no mail system should receive are refused with
// invalid_request and a detail saying why. Request bodies must be one
// JSON object that names no member twice, in any case.
//
// Sessions are demo HS256 JWTs by default ([JWTSessions]). When the
// Backend is a [UserLookup] (both shipped backends are), they read the
// account on every request that needs a session, so a deleted account's
// token gets 401 at once. A real application plugs in its own session
// system through [SessionIssuer] and [SessionVerifier] (selfhosted.NewSessions
// is one, revocable and kept in the engine's store), with the optional
// [SessionRevoker], [SessionManager], [SessionDescriber] and
// [SessionLifetimer].
package passkeys
