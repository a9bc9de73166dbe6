package passkeystest

import (
	"bytes"
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/passkeyready/passkeys/internal/nativeapp"
	"github.com/passkeyready/passkeys/internal/rawauthn"
)

// ErrExcluded is returned by Create when the authenticator holds, for the
// options' rp id, a credential listed in excludeCredentials. A browser reports
// this case as an InvalidStateError.
var ErrExcluded = errors.New("passkeystest: an excluded credential is held for this rp id")

// ErrNoCredential is returned by Get when no held credential fits the request
// options, and by SetSignCount for an unknown credential id.
var ErrNoCredential = errors.New("passkeystest: no held credential fits")

// algES256 is the COSE algorithm identifier of ECDSA P-256 with SHA-256.
const algES256 = -7

// Authenticator flag bits in authenticator data (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// Authenticator is a software platform authenticator together with the part
// of the browser that turns WebAuthn options JSON into response JSON. It
// holds discoverable ES256 credentials in memory.
//
// Set the exported fields before use; after that, Create, Get and the other
// methods are safe for concurrent use.
type Authenticator struct {
	Origin         string   // origin written into clientDataJSON
	UserPresent    bool     // UP flag
	UserVerified   bool     // UV flag
	BackupEligible bool     // BE flag
	BackedUp       bool     // BS flag
	ZeroCounter    bool     // always report signCount 0 (like synced passkeys)
	AAGUID         [16]byte // AAGUID in attested credential data; zero by default

	// RPID, when set, is the one rp id the authenticator serves, whatever
	// its Origin: a native app is bound to an rp id by the association
	// file the OS fetched (assetlinks.json, apple-app-site-association),
	// not by the host of an origin, and an Android app's origin has no
	// host. Options naming another rp id are an error; options without
	// one mean RPID.
	RPID string
	// AndroidPackage, when set, is written into clientDataJSON as
	// "androidPackageName" after the origin, as Android's Credential
	// Manager does for an app.
	AndroidPackage string
	// FlutterJSON makes Create and Get behave as the Flutter passkeys
	// package (RegisterRequestType.fromJson, AuthenticateRequestType.fromJson)
	// does: they take the bare options only (the handler's
	// attestationOptions.publicKey and assertionOptions.publicKey; a
	// {"publicKey": …} wrapper is an error) and answer with exactly
	//
	//	{"id", "rawId", "type", "response": {"clientDataJSON", "attestationObject", "transports"}, "clientExtensionResults"}
	//	{"id", "rawId", "type", "response": {"clientDataJSON", "authenticatorData", "signature", "userHandle"}, "clientExtensionResults"}
	//
	// every binary value unpadded base64url.
	FlutterJSON bool

	mu    sync.Mutex
	creds []*credential // in creation order
}

// credential is a held credential with its private key.
type credential struct {
	id         []byte
	rpID       string
	userHandle []byte
	key        *ecdsa.PrivateKey
	signCount  uint32
}

// Credential describes a held credential.
type Credential struct {
	ID         []byte // credential id (rawId)
	RPID       string // rp id the credential is bound to
	UserHandle []byte // user.id from the creation options
	SignCount  uint32 // signature counter held; 0 after Create
}

// Tamper alters one response, for negative tests. Zero value = honest response.
//
// Everything the tampered response carries is still signed correctly, except
// with BadSignature, so a relying party must reject it on the altered value
// itself.
type Tamper struct {
	Origin       string  // clientDataJSON origin instead of a.Origin
	RPID         string  // rpIdHash computed over this instead of the options' rp id
	Type         string  // clientDataJSON type instead of webauthn.create / webauthn.get
	Challenge    string  // clientDataJSON challenge (base64url) instead of the options' one
	BadSignature bool    // Get: flip a bit in the signature
	UserHandle   []byte  // Get: report this userHandle instead of the credential's
	SignCount    *uint32 // Get: report this counter instead of the next one; the held counter still advances
	CredentialID []byte  // Get: answer with this held credential (must be held for the rp id), ignoring allowCredentials
}

// New returns an authenticator whose client data carries origin. UserPresent and UserVerified start true.
func New(origin string) *Authenticator {
	return &Authenticator{Origin: origin, UserPresent: true, UserVerified: true}
}

// NewAndroidApp returns an authenticator that answers as the Android app
// packageName, signed with the DER certificate signingCert, does through
// Credential Manager: its clientDataJSON origin is [AndroidOrigin] of the
// certificate, followed by "androidPackageName", and it serves rpID.
// Configure the relying party with [AndroidFingerprint] of the same
// certificate.
func NewAndroidApp(rpID, packageName string, signingCert []byte) *Authenticator {
	a := New(AndroidOrigin(signingCert))
	a.RPID, a.AndroidPackage = rpID, packageName
	return a
}

// NewIOSApp returns an authenticator that answers as an iOS app associated
// with rpID through its apple-app-site-association webcredentials: iOS
// writes the relying party's web origin, "https://" + rpID, into the
// clientDataJSON of a native app's passkey ceremony, so that origin must
// be among the relying party's configured origins; nothing in the
// response names the app.
func NewIOSApp(rpID string) *Authenticator {
	a := New("https://" + rpID)
	a.RPID = rpID
	return a
}

// AndroidOrigin is the clientDataJSON origin of an Android app signed with
// the DER certificate cert: "android:apk-key-hash:" and the unpadded
// base64url SHA-256 of the certificate.
func AndroidOrigin(cert []byte) string {
	return nativeapp.Fingerprint(sha256.Sum256(cert)).Origin()
}

// AndroidFingerprint is the SHA-256 fingerprint of the DER certificate
// cert in the colon-separated upper-case hex form the Play Console shows
// and assetlinks.json uses ("AB:CD:…").
func AndroidFingerprint(cert []byte) string {
	return nativeapp.Fingerprint(sha256.Sum256(cert)).String()
}

// flutterAttestationJSON and flutterAssertionJSON are the answers of the
// Flutter passkeys package.
type flutterAttestationJSON struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Response struct {
		ClientDataJSON    string   `json:"clientDataJSON"`
		AttestationObject string   `json:"attestationObject"`
		Transports        []string `json:"transports,omitempty"`
	} `json:"response"`
	ClientExtensionResults struct{} `json:"clientExtensionResults"`
}

type flutterAssertionJSON struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Response struct {
		ClientDataJSON    string `json:"clientDataJSON"`
		AuthenticatorData string `json:"authenticatorData"`
		Signature         string `json:"signature"`
		UserHandle        string `json:"userHandle,omitempty"`
	} `json:"response"`
	ClientExtensionResults struct{} `json:"clientExtensionResults"`
}

// credentialDescriptor is a PublicKeyCredentialDescriptorJSON.
type credentialDescriptor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// creationOptions holds the members of PublicKeyCredentialCreationOptionsJSON
// that the authenticator acts on.
type creationOptions struct {
	RP struct {
		ID string `json:"id"`
	} `json:"rp"`
	User struct {
		ID string `json:"id"`
	} `json:"user"`
	Challenge        string `json:"challenge"`
	PubKeyCredParams []struct {
		Type string `json:"type"`
		Alg  int64  `json:"alg"`
	} `json:"pubKeyCredParams"`
	ExcludeCredentials []credentialDescriptor `json:"excludeCredentials"`
}

// requestOptions holds the members of PublicKeyCredentialRequestOptionsJSON
// that the authenticator acts on.
type requestOptions struct {
	Challenge        string                 `json:"challenge"`
	RPID             string                 `json:"rpId"`
	AllowCredentials []credentialDescriptor `json:"allowCredentials"`
}

// credentialJSON is the common shape of RegistrationResponseJSON and
// AuthenticationResponseJSON.
type credentialJSON[R any] struct {
	ID                      string   `json:"id"`
	RawID                   string   `json:"rawId"`
	Type                    string   `json:"type"`
	AuthenticatorAttachment string   `json:"authenticatorAttachment"`
	Response                R        `json:"response"`
	ClientExtensionResults  struct{} `json:"clientExtensionResults"`
}

// attestationResponseJSON is an AuthenticatorAttestationResponseJSON.
type attestationResponseJSON struct {
	ClientDataJSON     string   `json:"clientDataJSON"`
	AttestationObject  string   `json:"attestationObject"`
	Transports         []string `json:"transports"`
	PublicKeyAlgorithm int64    `json:"publicKeyAlgorithm"`
	PublicKey          string   `json:"publicKey"`
	AuthenticatorData  string   `json:"authenticatorData"`
}

// assertionResponseJSON is an AuthenticatorAssertionResponseJSON.
type assertionResponseJSON struct {
	ClientDataJSON    string `json:"clientDataJSON"`
	AuthenticatorData string `json:"authenticatorData"`
	Signature         string `json:"signature"`
	UserHandle        string `json:"userHandle"`
}

// clientData is CollectedClientData in the member order browsers serialise.
type clientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin"`
	CrossOrigin bool   `json:"crossOrigin"`
}

// appClientData is the CollectedClientData of an Android app, in the
// member order Credential Manager writes it.
type appClientData struct {
	Type               string `json:"type"`
	Challenge          string `json:"challenge"`
	Origin             string `json:"origin"`
	AndroidPackageName string `json:"androidPackageName"`
}

// Create answers creation options as navigator.credentials.create does and
// returns the RegistrationResponseJSON a page posts back.
//
// options is either the wrapper {"publicKey": {...}}, as the passkeys handler
// sends it, or the bare publicKey object. Create honours rp.id, user.id
// (base64url), challenge, pubKeyCredParams (which must offer ES256, -7; an
// empty list means the browser default, which does) and excludeCredentials:
// when it holds one of those for the rp id it returns ErrExcluded, as a
// browser reports InvalidStateError. Otherwise it stores a new discoverable
// credential with a random 32-byte id, bound to the rp id and user handle.
// Like a real authenticator, it replaces a held credential with the same rp
// id and user handle.
//
// As in a browser, a missing rp.id defaults to the origin's host, and an
// rp.id that is neither that host nor a parent domain of it is an error. The
// client data carries the challenge re-encoded as unpadded base64url, which
// is the options' own string whenever that is unpadded base64url.
//
// The response, every binary value unpadded base64url, is
//
//	{"id", "rawId", "type": "public-key", "authenticatorAttachment": "platform",
//	 "response": {"clientDataJSON", "attestationObject" (fmt "none"),
//	   "transports": ["internal"], "publicKeyAlgorithm": -7,
//	   "publicKey" (SPKI DER), "authenticatorData"},
//	 "clientExtensionResults": {}}
//
// Tamper's Get-only knobs are an error here.
func (a *Authenticator) Create(options []byte, t ...Tamper) ([]byte, error) {
	tp, err := oneTamper(t)
	if err != nil {
		return nil, err
	}
	if tp.BadSignature || tp.UserHandle != nil || tp.SignCount != nil || tp.CredentialID != nil {
		return nil, errors.New("passkeystest: Tamper.BadSignature, UserHandle, SignCount and CredentialID apply to Get only")
	}
	var o creationOptions
	if err := a.unwrap(options, &o); err != nil {
		return nil, err
	}
	rpID, err := a.rpID(o.RP.ID)
	if err != nil {
		return nil, err
	}
	userHandle, err := decodeB64(o.User.ID)
	if err != nil || len(userHandle) == 0 || len(userHandle) > 64 {
		return nil, fmt.Errorf("passkeystest: user.id %q is not 1 to 64 bytes of base64url", o.User.ID)
	}
	challenge, err := encodedChallenge(o.Challenge)
	if err != nil {
		return nil, err
	}
	offered := len(o.PubKeyCredParams) == 0
	for _, p := range o.PubKeyCredParams {
		offered = offered || (p.Type == "public-key" && p.Alg == algES256)
	}
	if !offered {
		return nil, errors.New("passkeystest: pubKeyCredParams does not offer ES256 (-7)")
	}
	excluded, err := descriptorIDs(o.ExcludeCredentials)
	if err != nil {
		return nil, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("passkeystest: generate key: %w", err)
	}
	point, err := key.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("passkeystest: encode public key: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("passkeystest: encode public key: %w", err)
	}
	c := &credential{id: make([]byte, 32), rpID: rpID, userHandle: userHandle, key: key}
	rand.Read(c.id)

	a.mu.Lock()
	for _, held := range a.creds {
		if held.rpID == rpID && containsID(excluded, held.id) {
			a.mu.Unlock()
			return nil, ErrExcluded
		}
	}
	a.creds = slices.DeleteFunc(a.creds, func(held *credential) bool {
		return held.rpID == rpID && bytes.Equal(held.userHandle, userHandle)
	})
	a.creds = append(a.creds, c)
	a.mu.Unlock()

	authData := authDataHeader(cmp.Or(tp.RPID, rpID), a.flags()|flagAT, 0)
	authData = append(authData, a.AAGUID[:]...)
	authData = binary.BigEndian.AppendUint16(authData, uint16(len(c.id)))
	authData = append(authData, c.id...)
	// The COSE_Key of the P-256 point 0x04 || x || y: {1: 2 (EC2),
	// 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}, in canonical order.
	authData = append(authData, rawauthn.Map(1, 2, 3, algES256, -1, 1, -2, point[1:33], -3, point[33:65])...)

	clientDataJSON, err := a.clientDataJSON("webauthn.create", challenge, tp)
	if err != nil {
		return nil, err
	}
	if a.FlutterJSON {
		var f flutterAttestationJSON
		f.ID, f.RawID, f.Type = b64(c.id), b64(c.id), "public-key"
		f.Response.ClientDataJSON = b64(clientDataJSON)
		f.Response.AttestationObject = b64(rawauthn.NoneAttestation(authData))
		f.Response.Transports = []string{"internal"}
		return json.Marshal(f)
	}
	return json.Marshal(credentialJSON[attestationResponseJSON]{
		ID:                      b64(c.id),
		RawID:                   b64(c.id),
		Type:                    "public-key",
		AuthenticatorAttachment: "platform",
		Response: attestationResponseJSON{
			ClientDataJSON:     b64(clientDataJSON),
			AttestationObject:  b64(rawauthn.NoneAttestation(authData)),
			Transports:         []string{"internal"},
			PublicKeyAlgorithm: algES256,
			PublicKey:          b64(spki),
			AuthenticatorData:  b64(authData),
		},
	})
}

// Get answers request options as navigator.credentials.get does and returns
// the AuthenticationResponseJSON a page posts back.
//
// options is the wrapper or the bare publicKey object, as for Create, with
// the same rp id and challenge rules. With allowCredentials, Get answers with
// a held credential listed there for the rp id; without, with a discoverable
// credential for the rp id. Either way the most recently created fitting
// credential answers, unless Tamper.CredentialID chooses. When none fits it
// returns ErrNoCredential. It increments the credential's counter, reporting
// 1 on the first assertion, unless ZeroCounter keeps it at 0.
//
// The response, every binary value unpadded base64url, is
//
//	{"id", "rawId", "type": "public-key", "authenticatorAttachment": "platform",
//	 "response": {"clientDataJSON", "authenticatorData", "signature", "userHandle"},
//	 "clientExtensionResults": {}}
//
// where signature is ECDSA (ASN.1) over authenticatorData ||
// SHA-256(clientDataJSON) and userHandle is the credential's user handle.
func (a *Authenticator) Get(options []byte, t ...Tamper) ([]byte, error) {
	tp, err := oneTamper(t)
	if err != nil {
		return nil, err
	}
	var o requestOptions
	if err := a.unwrap(options, &o); err != nil {
		return nil, err
	}
	rpID, err := a.rpID(o.RPID)
	if err != nil {
		return nil, err
	}
	challenge, err := encodedChallenge(o.Challenge)
	if err != nil {
		return nil, err
	}
	allowed, err := descriptorIDs(o.AllowCredentials)
	if err != nil {
		return nil, err
	}

	a.mu.Lock()
	c := a.pick(rpID, allowed, tp.CredentialID)
	if c == nil {
		a.mu.Unlock()
		return nil, ErrNoCredential
	}
	var count uint32
	if !a.ZeroCounter {
		c.signCount++
		count = c.signCount
	}
	id, userHandle, key := c.id, c.userHandle, c.key
	a.mu.Unlock()

	if tp.SignCount != nil {
		count = *tp.SignCount
	}
	if tp.UserHandle != nil {
		userHandle = tp.UserHandle
	}
	authData := authDataHeader(cmp.Or(tp.RPID, rpID), a.flags(), count)
	clientDataJSON, err := a.clientDataJSON("webauthn.get", challenge, tp)
	if err != nil {
		return nil, err
	}
	clientDataHash := sha256.Sum256(clientDataJSON)
	h := sha256.New()
	h.Write(authData)
	h.Write(clientDataHash[:])
	sig, err := ecdsa.SignASN1(rand.Reader, key, h.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("passkeystest: sign: %w", err)
	}
	if tp.BadSignature {
		sig[len(sig)-1] ^= 0x01
	}
	if a.FlutterJSON {
		var f flutterAssertionJSON
		f.ID, f.RawID, f.Type = b64(id), b64(id), "public-key"
		f.Response.ClientDataJSON = b64(clientDataJSON)
		f.Response.AuthenticatorData = b64(authData)
		f.Response.Signature = b64(sig)
		f.Response.UserHandle = b64(userHandle)
		return json.Marshal(f)
	}
	return json.Marshal(credentialJSON[assertionResponseJSON]{
		ID:                      b64(id),
		RawID:                   b64(id),
		Type:                    "public-key",
		AuthenticatorAttachment: "platform",
		Response: assertionResponseJSON{
			ClientDataJSON:    b64(clientDataJSON),
			AuthenticatorData: b64(authData),
			Signature:         b64(sig),
			UserHandle:        b64(userHandle),
		},
	})
}

// Credentials returns copies of the held credentials in creation order.
func (a *Authenticator) Credentials() []Credential {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Credential, len(a.creds))
	for i, c := range a.creds {
		out[i] = Credential{
			ID:         slices.Clone(c.id),
			RPID:       c.rpID,
			UserHandle: slices.Clone(c.userHandle),
			SignCount:  c.signCount,
		}
	}
	return out
}

// SetSignCount sets the counter of the held credential id; the next Get
// reports n+1. It returns ErrNoCredential when id is not held.
func (a *Authenticator) SetSignCount(id []byte, n uint32) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := a.index(id)
	if i < 0 {
		return ErrNoCredential
	}
	a.creds[i].signCount = n
	return nil
}

// Forget drops the held credential id, as when a user deletes a passkey from
// the device. Forgetting a credential that is not held does nothing.
func (a *Authenticator) Forget(id []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if i := a.index(id); i >= 0 {
		a.creds = slices.Delete(a.creds, i, i+1)
	}
}

// index returns the position of the held credential id, or -1. The caller
// holds a.mu.
func (a *Authenticator) index(id []byte) int {
	return slices.IndexFunc(a.creds, func(c *credential) bool { return bytes.Equal(c.id, id) })
}

// pick returns the most recently created credential for rpID that is chosen,
// or, when chosen is nil, that is listed in allowed (any when allowed is
// empty). The caller holds a.mu.
func (a *Authenticator) pick(rpID string, allowed [][]byte, chosen []byte) *credential {
	for _, c := range slices.Backward(a.creds) {
		if c.rpID != rpID {
			continue
		}
		if chosen != nil {
			if bytes.Equal(c.id, chosen) {
				return c
			}
			continue
		}
		if len(allowed) == 0 || containsID(allowed, c.id) {
			return c
		}
	}
	return nil
}

// flags returns the UP, UV, BE and BS bits as configured.
func (a *Authenticator) flags() byte {
	var f byte
	if a.UserPresent {
		f |= flagUP
	}
	if a.UserVerified {
		f |= flagUV
	}
	if a.BackupEligible {
		f |= flagBE
	}
	if a.BackedUp {
		f |= flagBS
	}
	return f
}

// rpID resolves the options' rp id against the origin the way a browser
// does: empty means the origin's host; otherwise it must be that host or a
// parent domain of it.
func (a *Authenticator) rpID(id string) (string, error) {
	if a.RPID != "" {
		if id != "" && id != a.RPID {
			return "", fmt.Errorf("passkeystest: rp id %q is not the app's rp id %q", id, a.RPID)
		}
		return a.RPID, nil
	}
	u, err := url.Parse(a.Origin)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("passkeystest: origin %q has no host", a.Origin)
	}
	host := u.Hostname()
	if id == "" {
		return host, nil
	}
	if host != id && !strings.HasSuffix(host, "."+id) {
		return "", fmt.Errorf("passkeystest: rp id %q is not the host of origin %q or a parent domain of it", id, a.Origin)
	}
	return id, nil
}

// clientDataJSON serialises the collected client data compactly, without
// HTML escaping, as browsers do.
func (a *Authenticator) clientDataJSON(typ, challenge string, tp Tamper) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	var cd any = clientData{
		Type:      cmp.Or(tp.Type, typ),
		Challenge: cmp.Or(tp.Challenge, challenge),
		Origin:    cmp.Or(tp.Origin, a.Origin),
	}
	if a.AndroidPackage != "" {
		cd = appClientData{
			Type:               cmp.Or(tp.Type, typ),
			Challenge:          cmp.Or(tp.Challenge, challenge),
			Origin:             cmp.Or(tp.Origin, a.Origin),
			AndroidPackageName: a.AndroidPackage,
		}
	}
	err := enc.Encode(cd)
	if err != nil {
		return nil, fmt.Errorf("passkeystest: client data: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// authDataHeader returns SHA-256(rpID) || flags || signCount.
func authDataHeader(rpID string, flags byte, signCount uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	b := append(h[:], flags)
	return binary.BigEndian.AppendUint32(b, signCount)
}

// unwrap is the package unwrap, refusing the wrapper under FlutterJSON.
func (a *Authenticator) unwrap(options []byte, v any) error {
	if a.FlutterJSON {
		var w struct {
			PublicKey json.RawMessage `json:"publicKey"`
		}
		if json.Unmarshal(options, &w) == nil && len(w.PublicKey) > 0 {
			return errors.New("passkeystest: the Flutter passkeys package takes the bare options: pass attestationOptions.publicKey or assertionOptions.publicKey")
		}
	}
	return unwrap(options, v)
}

// unwrap decodes options into v, accepting either {"publicKey": {...}} or
// the bare publicKey object.
func unwrap(options []byte, v any) error {
	var w struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &w); err != nil {
		return fmt.Errorf("passkeystest: options: %w", err)
	}
	body := options
	if len(w.PublicKey) > 0 && string(w.PublicKey) != "null" {
		body = w.PublicKey
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("passkeystest: options: %w", err)
	}
	return nil
}

// encodedChallenge checks that challenge is non-empty base64url and returns
// it as a browser writes it into client data: unpadded base64url.
func encodedChallenge(challenge string) (string, error) {
	raw, err := decodeB64(challenge)
	if err != nil || len(raw) == 0 {
		return "", fmt.Errorf("passkeystest: challenge %q is not non-empty base64url", challenge)
	}
	return b64(raw), nil
}

// descriptorIDs decodes the ids of credential descriptors.
func descriptorIDs(ds []credentialDescriptor) ([][]byte, error) {
	ids := make([][]byte, 0, len(ds))
	for _, d := range ds {
		id, err := decodeB64(d.ID)
		if err != nil {
			return nil, fmt.Errorf("passkeystest: credential id %q is not base64url", d.ID)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// containsID reports whether id is one of ids.
func containsID(ids [][]byte, id []byte) bool {
	return slices.ContainsFunc(ids, func(x []byte) bool { return bytes.Equal(x, id) })
}

// oneTamper returns the optional Tamper argument.
func oneTamper(t []Tamper) (Tamper, error) {
	switch len(t) {
	case 0:
		return Tamper{}, nil
	case 1:
		return t[0], nil
	default:
		return Tamper{}, errors.New("passkeystest: at most one Tamper per call")
	}
}

// b64 encodes as unpadded base64url.
func b64(b []byte) string {
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeB64 decodes base64url, padded or not.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
