// Package passkeystest is a software passkey authenticator for testing a
// WebAuthn relying party without a browser.
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
// The Corbado Backend API emulator lives in the sub-package corbadotest, so
// that importing this package compiles nothing but the standard library.
package passkeystest
