// Package rawauthn builds WebAuthn responses by hand, byte by byte, for
// tests that send what no honest authenticator would: any COSE key or CBOR
// around it (duplicate labels, text where numbers belong, bytes after the
// key), any authenticator data flags, any credential ID and any
// clientDataJSON, signed with any key. passkeystest.Authenticator is the
// honest authenticator; this package is for the tests of the engine's and
// the example server's refusals, which share it instead of each writing
// CBOR again.
package rawauthn

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
)

// Raw is CBOR already encoded; [Append] writes it as it is.
type Raw []byte

// Head appends a CBOR head of major type major and argument n, in the
// shortest form.
func Head(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return append(b, m|25, byte(n>>8), byte(n))
	case n <= math.MaxUint32:
		return append(b, m|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// Append appends v as one CBOR data item: an int or int64 as an integer, a
// []byte as a byte string, a string as a text string, a bool as true or
// false, and [Raw] as it is. Any other type panics: it is a mistake in
// the test.
func Append(b []byte, v any) []byte {
	switch v := v.(type) {
	case int:
		return appendInt(b, int64(v))
	case int64:
		return appendInt(b, v)
	case []byte:
		return append(Head(b, 2, uint64(len(v))), v...)
	case string:
		return append(Head(b, 3, uint64(len(v))), v...)
	case bool:
		if v {
			return append(b, 0xf5)
		}
		return append(b, 0xf4)
	case Raw:
		return append(b, v...)
	}
	panic(fmt.Sprintf("rawauthn.Append: %T", v))
}

func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return Head(b, 1, uint64(-1-v))
	}
	return Head(b, 0, uint64(v))
}

// Map encodes the key, value pairs kv as a CBOR map, in the order given,
// duplicates and all; keys and values are encoded by [Append]. A COSE key
// is Map(1, 2, 3, -7, -1, 1, -2, x, -3, y).
func Map(kv ...any) []byte {
	b := Head(nil, 5, uint64(len(kv)/2))
	for _, v := range kv {
		b = Append(b, v)
	}
	return b
}

// NoneAttestation encodes the attestation object {"fmt": "none",
// "attStmt": {}, "authData": authData}.
func NoneAttestation(authData []byte) []byte {
	return Map("fmt", "none", "attStmt", Raw{0xa0}, "authData", authData)
}

// Flags of the authenticator data.
const (
	FlagUP = 0x01 // user present
	FlagUV = 0x04 // user verified
	FlagBE = 0x08 // backup eligible
	FlagBS = 0x10 // backed up
	FlagAT = 0x40 // attested credential data included
	FlagED = 0x80 // extension data included
)

// AuthData is the authenticator data of an assertion: the SHA-256 of
// rpID, flags and the signature counter.
func AuthData(rpID string, flags byte, count uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	return binary.BigEndian.AppendUint32(append(h[:], flags), count)
}

// AttestedAuthData is the authenticator data of a registration: AuthData
// with counter 0, then a zero AAGUID, the length of id, id and rest (the
// COSE key and whatever follows it).
func AttestedAuthData(rpID string, flags byte, id, rest []byte) []byte {
	b := append(AuthData(rpID, flags, 0), make([]byte, 16)...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(id)))
	return append(append(b, id...), rest...)
}

// ClientData serialises collected client data as browsers do.
func ClientData(typ, challenge, origin string) []byte {
	o, _ := json.Marshal(origin)
	return fmt.Appendf(nil, `{"type":%q,"challenge":%q,"origin":%s,"crossOrigin":false}`, typ, challenge, o)
}

// Options reads the challenge and, for creation options, the user handle
// from options JSON, the wrapper {"publicKey": {...}} that the server
// sends.
func Options(options []byte) (challenge string, handle []byte, err error) {
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      *struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		return "", nil, fmt.Errorf("rawauthn: options %s: %w", options, err)
	}
	if o.PublicKey.Challenge == "" {
		return "", nil, fmt.Errorf("rawauthn: options %s have no challenge", options)
	}
	if o.PublicKey.User != nil {
		if handle, err = b64.DecodeString(o.PublicKey.User.ID); err != nil {
			return "", nil, fmt.Errorf("rawauthn: user handle: %w", err)
		}
	}
	return o.PublicKey.Challenge, handle, nil
}

var b64 = base64.RawURLEncoding

// Registration is a registration made by hand.
type Registration struct {
	RPID   string // hashed into the authenticator data
	Origin string // written into clientDataJSON
	COSE   []byte // the public key, written as it is
	Tail   []byte // bytes after the key
	Flags  byte   // 0 means UP, UV and AT
	ID     []byte // the credential ID; nil means 32 random bytes

	// ClientData, when not nil, replaces the clientDataJSON.
	ClientData []byte
}

// Create answers creation options with an attestation "none" of r. It
// returns the response JSON (what PublicKeyCredential.toJSON() produces),
// the credential ID and the user handle of the options.
func (r Registration) Create(options []byte) (resp json.RawMessage, id, handle []byte, err error) {
	challenge, handle, err := Options(options)
	if err != nil {
		return nil, nil, nil, err
	}
	if handle == nil {
		return nil, nil, nil, errors.New("rawauthn: creation options without a user")
	}
	flags, id, cd := r.Flags, r.ID, r.ClientData
	if flags == 0 {
		flags = FlagUP | FlagUV | FlagAT
	}
	if id == nil {
		id = make([]byte, 32)
		rand.Read(id)
	}
	if cd == nil {
		cd = ClientData("webauthn.create", challenge, r.Origin)
	}
	att := NoneAttestation(AttestedAuthData(r.RPID, flags, id, append(append([]byte(nil), r.COSE...), r.Tail...)))
	resp, err = json.Marshal(map[string]any{
		"id": b64.EncodeToString(id), "rawId": b64.EncodeToString(id), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att),
			"transports": []string{"internal"},
		},
	})
	return resp, id, handle, err
}

// Assertion is a login made by hand.
type Assertion struct {
	RPID   string // hashed into the authenticator data
	Origin string // written into clientDataJSON
	ID     []byte // the credential ID
	Handle []byte // the user handle
	Flags  byte   // 0 means UP and UV
	Count  uint32 // the signature counter

	// Sign signs authenticatorData || SHA-256(clientDataJSON).
	Sign func(msg []byte) ([]byte, error)

	// ClientData, when not nil, replaces the clientDataJSON; it is signed
	// all the same.
	ClientData []byte
}

// Get answers request options with an assertion of a, signed by a.Sign.
func (a Assertion) Get(options []byte) (json.RawMessage, error) {
	challenge, _, err := Options(options)
	if err != nil {
		return nil, err
	}
	flags, cd := a.Flags, a.ClientData
	if flags == 0 {
		flags = FlagUP | FlagUV
	}
	if cd == nil {
		cd = ClientData("webauthn.get", challenge, a.Origin)
	}
	authData := AuthData(a.RPID, flags, a.Count)
	cdHash := sha256.Sum256(cd)
	sig, err := a.Sign(append(append([]byte(nil), authData...), cdHash[:]...))
	if err != nil {
		return nil, fmt.Errorf("rawauthn: signing: %w", err)
	}
	return json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.ID), "rawId": b64.EncodeToString(a.ID), "type": "public-key",
		"authenticatorAttachment": "platform", "clientExtensionResults": map[string]any{},
		"response": map[string]any{
			"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(authData),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(a.Handle),
		},
	})
}
