package rawauthn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
)

// TestCBOR checks the encoder against the examples of RFC 8949 Appendix A,
// the boundaries of each head length and the other types it writes.
func TestCBOR(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  []byte
		want string
	}{
		{"0", Append(nil, 0), "00"},
		{"23", Append(nil, 23), "17"},
		{"24", Append(nil, 24), "1818"},
		{"100", Append(nil, 100), "1864"},
		{"1000", Append(nil, 1000), "1903e8"},
		{"1000000", Append(nil, 1000000), "1a000f4240"},
		{"1000000000000", Append(nil, 1000000000000), "1b000000e8d4a51000"},
		{"255", Append(nil, 255), "18ff"},
		{"256", Append(nil, 256), "190100"},
		{"65535", Append(nil, 65535), "19ffff"},
		{"65536", Append(nil, 65536), "1a00010000"},
		{"4294967295", Append(nil, 4294967295), "1affffffff"},
		{"4294967296", Append(nil, 4294967296), "1b0000000100000000"},
		{"-1", Append(nil, -1), "20"},
		{"-10", Append(nil, -10), "29"},
		{"-100", Append(nil, -100), "3863"},
		{"-1000", Append(nil, int64(-1000)), "3903e7"},
		{`h''`, Append(nil, []byte(nil)), "40"},
		{`h'01020304'`, Append(nil, []byte{1, 2, 3, 4}), "4401020304"},
		{`""`, Append(nil, ""), "60"},
		{`"IETF"`, Append(nil, "IETF"), "6449455446"},
		{"{}", Map(), "a0"},
		{"24-byte text", Append(nil, strings.Repeat("a", 24)), "7818" + strings.Repeat("61", 24)},
		{"256-byte string", Append(nil, make([]byte, 256))[:3], "590100"},
		{"true", Append(nil, true), "f5"},
		{"false", Append(nil, false), "f4"},
		{"raw", Append(nil, Raw{0xc2, 0x40}), "c240"},
		{"map in order, duplicates kept", Map(3, -7, 1, 2, 1, 2), "a303260102" + "0102"},
		{"none attestation", NoneAttestation([]byte{0xaa, 0xbb}), "a3" + "63666d74" + "646e6f6e65" + "6761747453746d74" + "a0" + "6861757468446174" + "61" + "42aabb"},
	} {
		if got := hex.EncodeToString(tc.got); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Append of a float did not panic")
		}
	}()
	Append(nil, 1.5)
}

// TestRegistrationAndAssertion checks what go-webauthn reads from a
// registration and a login made by hand.
func TestRegistrationAndAssertion(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := k.PublicKey.Bytes()
	cose := Map(1, 2, 3, -7, -1, 1, -2, raw[1:33], -3, raw[33:])
	creation := []byte(`{"publicKey":{"challenge":"Y2hhbGxlbmdl","user":{"id":"aGFuZGxl","name":"a"}}}`)
	resp, id, handle, err := Registration{RPID: "example.com", Origin: "https://example.com", COSE: cose, Tail: []byte{0xa0}, Flags: FlagUP | FlagAT | FlagED}.Create(creation)
	if err != nil {
		t.Fatal(err)
	}
	if len(id) != 32 || string(handle) != "handle" {
		t.Errorf("id %x, handle %q", id, handle)
	}
	reg, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		t.Fatalf("go-webauthn cannot read the registration: %v\n%s", err, resp)
	}
	rpHash := sha256.Sum256([]byte("example.com"))
	ad := reg.Response.AttestationObject.AuthData
	switch {
	case reg.Response.CollectedClientData.Challenge != "Y2hhbGxlbmdl", reg.Response.CollectedClientData.Origin != "https://example.com",
		reg.Response.CollectedClientData.Type != "webauthn.create":
		t.Errorf("client data %+v", reg.Response.CollectedClientData)
	case reg.Response.AttestationObject.Format != "none":
		t.Errorf("format %q", reg.Response.AttestationObject.Format)
	case !bytes.Equal(ad.RPIDHash, rpHash[:]), ad.Flags != protocol.AuthenticatorFlags(FlagUP|FlagAT|FlagED):
		t.Errorf("rp id hash %x, flags %x", ad.RPIDHash, ad.Flags)
	case !bytes.Equal(ad.AttData.CredentialID, id), !bytes.Equal(ad.AttData.CredentialPublicKey, cose):
		t.Errorf("attested data %+v", ad.AttData)
	case !bytes.Equal(reg.RawID, id):
		t.Errorf("raw id %x, want %x", reg.RawID, id)
	}
	if _, _, _, err := (Registration{RPID: "example.com", COSE: cose}).Create([]byte(`{"publicKey":{"challenge":"abc"}}`)); err == nil {
		t.Error("creation options without a user were answered")
	}

	cd := []byte(`{"type":"webauthn.get","challenge":"other","origin":"https://evil.example"}`)
	sign := func(msg []byte) ([]byte, error) {
		h := sha256.Sum256(msg)
		return ecdsa.SignASN1(rand.Reader, k, h[:])
	}
	resp, err = Assertion{RPID: "example.com", Origin: "https://example.com", ID: id, Handle: handle, Count: 7, Sign: sign, ClientData: cd}.Get([]byte(`{"publicKey":{"challenge":"Y2hhbGxlbmdl"}}`))
	if err != nil {
		t.Fatal(err)
	}
	login, err := protocol.ParseCredentialRequestResponseBytes(resp)
	if err != nil {
		t.Fatalf("go-webauthn cannot read the assertion: %v\n%s", err, resp)
	}
	lad := login.Response.AuthenticatorData
	switch {
	case !bytes.Equal(login.Raw.AssertionResponse.ClientDataJSON, cd):
		t.Errorf("clientDataJSON %s, want the one given", login.Raw.AssertionResponse.ClientDataJSON)
	case !bytes.Equal(lad.RPIDHash, rpHash[:]), lad.Flags != protocol.AuthenticatorFlags(FlagUP|FlagUV), lad.Counter != 7:
		t.Errorf("authenticator data %+v", lad)
	case !bytes.Equal(login.Response.UserHandle, handle), !bytes.Equal(login.RawID, id):
		t.Errorf("user handle %q, raw id %x", login.Response.UserHandle, login.RawID)
	}
	cdHash := sha256.Sum256(cd)
	msg := append(append([]byte(nil), login.Raw.AssertionResponse.AuthenticatorData...), cdHash[:]...)
	h := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(&k.PublicKey, h[:], login.Response.Signature) {
		t.Error("the signature does not verify over authenticatorData || SHA-256(clientDataJSON)")
	}
}
