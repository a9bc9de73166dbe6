// Package passkeystest is a test kit for passkey sign-in: a software
// passkey authenticator for testing any WebAuthn relying party without a
// browser, and helpers that let a host app's tests run whole ceremonies
// through its mounted [passkeys.Handler].
//
// # Testing a host app
//
// A [Mailbox] is an OTP sender that keeps the codes instead of emailing
// them; a [Client] plays the web page: it signs up or logs in by code,
// appends a passkey, logs in by button or by autofill, lists and deletes
// passkeys, logs out, lists and revokes sessions, and exports, moves to a
// new email or deletes the account, each in one call, returning typed
// results and an [*Error] with the status and problem code of a failed
// request:
//
//	mail := passkeystest.NewMailbox() // the backend's OTPSender
//	...
//	c := passkeystest.NewClient(ts.URL+"/auth", passkeystest.ClientOptions{
//		Authenticator: passkeystest.New("http://localhost:3000"), // the RP's origin
//		Mailbox:       mail,
//	})
//	s, err := c.SignUpOrLogin(ctx, "alice@example.com")
//	_, err = c.AppendPasskey(ctx, s.Token)
//	s, err = c.LoginWithPasskey(ctx, "alice@example.com")
//
// The steps of each ceremony are methods too (StartAppend, FinishAppend,
// StartLogin, ...), for tests that alter the authenticator's answer in
// between.
//
// # The authenticator
//
// An [Authenticator] plays the browser and a platform authenticator at once.
// Hand it the options JSON your server sends to the page, and it returns the
// JSON that the page would post back: what PublicKeyCredential.toJSON()
// produces in a browser, with real ES256 (ECDSA P-256, SHA-256) keys and
// signatures and attestation "none".
//
//	a := passkeystest.New("https://example.test")
//	resp, err := a.Create(creationOptionsJSON) // navigator.credentials.create
//	...
//	resp, err = a.Get(requestOptionsJSON)      // navigator.credentials.get
//
// Options may be the wrapper {"publicKey": {...}} or the bare publicKey
// object. Every credential is discoverable: it remembers its rp id and user
// handle, so Get without allowCredentials answers a passkey (conditional UI
// or button) login, and with allowCredentials it answers only with a listed
// credential.
//
// The exported fields set the authenticator data flags (UP, UV, BE, BS), make
// the signature counter stay at zero as synced passkeys do, and choose the
// AAGUID. [Tamper] alters a single response for negative tests: another
// origin, rp id hash, ceremony type or challenge, a broken signature, a
// foreign user handle, a chosen counter or a chosen credential.
// [Authenticator.Forget] and [Authenticator.SetSignCount] change what the
// device holds, as when a user deletes a passkey or a credential is cloned.
//
// Importing this package compiles the root package passkeys and its light
// dependencies, nothing more: no WebAuthn library, no OpenAPI tooling, no
// database driver.
// The Corbado Backend API emulator lives in the sub-package corbadotest.
package passkeystest
