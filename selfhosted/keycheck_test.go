package selfhosted

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/passkeyready/passkeys/internal/rawauthn"
	"github.com/passkeyready/passkeys/passkeystest"
)

// coseParam is one COSE key parameter: value is an int64, a []byte, a bool
// or raw CBOR (rawauthn.Raw).
type coseParam struct {
	label int64
	value any
}

// encodeCOSE encodes params, in order, as a CBOR map.
func encodeCOSE(params ...coseParam) []byte {
	kv := make([]any, 0, 2*len(params))
	for _, p := range params {
		kv = append(kv, p.label, p.value)
	}
	return rawauthn.Map(kv...)
}

func ec2Key(alg, crv int64, x, y []byte) []byte {
	return encodeCOSE(coseParam{1, coseEC2}, coseParam{3, alg}, coseParam{-1, crv}, coseParam{-2, x}, coseParam{-3, y})
}

func okpKey(alg, crv int64, x []byte) []byte {
	return encodeCOSE(coseParam{1, coseOKP}, coseParam{3, alg}, coseParam{-1, crv}, coseParam{-2, x})
}

func rsaKey(alg int64, n, e []byte) []byte {
	return encodeCOSE(coseParam{1, coseRSA}, coseParam{3, alg}, coseParam{-1, n}, coseParam{-2, e})
}

// ecCoords returns the fixed-length coordinates of a new key on c.
func ecCoords(t testing.TB, c elliptic.Curve) (x, y []byte) {
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := k.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	n := (c.Params().BitSize + 7) / 8
	return raw[1 : 1+n], raw[1+n:]
}

var rsaKeys = struct {
	sync.Mutex
	m map[int]*rsa.PrivateKey
}{m: map[int]*rsa.PrivateKey{}}

// rsaTestKey returns an RSA key of the given size, made once per test binary.
func rsaTestKey(t testing.TB, bits int) *rsa.PrivateKey {
	rsaKeys.Lock()
	defer rsaKeys.Unlock()
	if k, ok := rsaKeys.m[bits]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	rsaKeys.m[bits] = k
	return k
}

func rsaCOSE(alg int64, k *rsa.PublicKey) []byte {
	return rsaKey(alg, k.N.Bytes(), big.NewInt(int64(k.E)).Bytes())
}

// authenticatorKey returns the COSE key of a credential the software
// authenticator creates, as go-webauthn parses and stores it.
func authenticatorKey(t testing.TB) []byte {
	a := passkeystest.New("https://example.com")
	opts := `{"publicKey":{"rp":{"id":"example.com"},"user":{"id":"dXNlcg"},"challenge":"Y2hhbGxlbmdlY2hhbGxlbmdlY2hhbGxlbmdl","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}`
	resp, err := a.Create([]byte(opts))
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(resp)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Response.AttestationObject.AuthData.AttData.CredentialPublicKey
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Ed25519 encodings for the point checks.
var (
	// ed25519Base is the base point B (RFC 8032 §5.1).
	ed25519Base = mustHex("5866666666666666666666666666666666666666666666666666666666666666")
	// ed25519NotOnCurve: y = 2 gives x² = 3/(4d+1), not a square.
	ed25519NotOnCurve = mustHex("0200000000000000000000000000000000000000000000000000000000000000")
	// ed25519NonCanonical encodes y = p+1, i.e. the neutral element's y
	// not reduced modulo p.
	ed25519NonCanonical = mustHex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
)

// publicKeyCases are the keys checkPublicKey must accept (ok) and refuse,
// by class. They also seed the fuzzer.
func publicKeyCases(t testing.TB) []struct {
	name string
	key  []byte
	ok   bool
} {
	x256, y256 := ecCoords(t, elliptic.P256())
	x384, y384 := ecCoords(t, elliptic.P384())
	x521, y521 := ecCoords(t, elliptic.P521())
	edKey, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub := []byte(edKey)
	rsa2048 := &rsaTestKey(t, 2048).PublicKey
	rsa1024 := &rsaTestKey(t, 1024).PublicKey
	n2048 := rsa2048.N.Bytes()
	e65537 := []byte{1, 0, 1}
	es256 := int64(webauthncose.AlgES256)
	offCurve := new(big.Int).Add(new(big.Int).SetBytes(y256), big.NewInt(1)).FillBytes(make([]byte, 32))
	// P-521 coordinates have 7 spare bits, so x+p still fits in 66 bytes.
	unreducedX := new(big.Int).Add(new(big.Int).SetBytes(x521), elliptic.P521().Params().P).FillBytes(make([]byte, 66))
	evenN := new(big.Int).Add(rsa2048.N, big.NewInt(1)).Bytes()
	huge := new(big.Int).Lsh(big.NewInt(1), maxRSABits) // 8193 bits
	huge.Add(huge, big.NewInt(1))

	return []struct {
		name string
		key  []byte
		ok   bool
	}{
		{"software authenticator ES256", authenticatorKey(t), true},
		{"ES256", ec2Key(es256, 1, x256, y256), true},
		{"ES256 labels in another order", encodeCOSE(coseParam{-3, y256}, coseParam{-2, x256}, coseParam{-1, 1}, coseParam{3, es256}, coseParam{1, coseEC2}), true},
		{"ES384", ec2Key(-35, 2, x384, y384), true},
		{"ES512", ec2Key(-36, 3, x521, y521), true},
		{"EdDSA", okpKey(-8, 6, edPub), true},
		{"EdDSA base point", okpKey(-8, 6, ed25519Base), true},
		{"RS256 2048", rsaCOSE(-257, rsa2048), true},
		{"PS256 2048", rsaCOSE(-37, rsa2048), true},
		{"RS512 2048", rsaCOSE(-259, rsa2048), true},
		{"RSA exponent 2^31-1", rsaKey(-257, n2048, []byte{0x7f, 0xff, 0xff, 0xff}), true},

		// EC2
		{"EC2 point not on the curve", ec2Key(es256, 1, x256, offCurve), false},
		{"EC2 zero point", ec2Key(es256, 1, make([]byte, 32), make([]byte, 32)), false},
		{"EC2 x not reduced", ec2Key(-36, 3, unreducedX, y521), false},
		{"EC2 short x", ec2Key(es256, 1, x256[1:], y256), false},
		{"EC2 short y", ec2Key(es256, 1, x256, y256[1:]), false},
		{"EC2 long x", ec2Key(es256, 1, append([]byte{0}, x256...), y256), false},
		{"EC2 P-384 coordinates for ES256", ec2Key(es256, 1, x384, y384), false},
		{"EC2 unknown curve", ec2Key(es256, 99, x256, y256), false},
		{"EC2 curve P-384 for ES256", ec2Key(es256, 2, x256, y256), false},
		{"EC2 curve Ed25519 for ES256", ec2Key(es256, 6, x256, y256), false},
		{"EC2 secp256k1", ec2Key(-47, 8, x256, y256), false},
		{"EC2 without curve", encodeCOSE(coseParam{1, coseEC2}, coseParam{3, es256}, coseParam{-2, x256}, coseParam{-3, y256}), false},
		{"EC2 without y", encodeCOSE(coseParam{1, coseEC2}, coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, x256}), false},
		{"EC2 compressed point", encodeCOSE(coseParam{1, coseEC2}, coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, x256}, coseParam{-3, true}), false},
		{"EC2 with private key", encodeCOSE(coseParam{1, coseEC2}, coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, x256}, coseParam{-3, y256}, coseParam{-4, x256}), false},
		{"EC2 with kid", encodeCOSE(coseParam{1, coseEC2}, coseParam{2, []byte("kid")}, coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, x256}, coseParam{-3, y256}), false},
		{"EC2 curve as bytes", encodeCOSE(coseParam{1, coseEC2}, coseParam{3, es256}, coseParam{-1, []byte{1}}, coseParam{-2, x256}, coseParam{-3, y256}), false},

		// kty, alg
		{"kty RSA with ES256", rsaKey(es256, n2048, e65537), false},
		{"kty EC2 with RS256", ec2Key(-257, 1, x256, y256), false},
		{"kty OKP with ES256", okpKey(es256, 6, edPub), false},
		{"kty EC2 with EdDSA", ec2Key(-8, 6, x256, y256), false},
		{"kty symmetric", encodeCOSE(coseParam{1, 4}, coseParam{3, es256}, coseParam{-1, x256}), false},
		{"kty AKP", encodeCOSE(coseParam{1, 7}, coseParam{3, -48}, coseParam{-1, x256}), false},
		{"kty as text", encodeCOSE(coseParam{1, rawauthn.Raw{0x63, 'E', 'C', '2'}}, coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, x256}, coseParam{-3, y256}), false},
		{"no kty", encodeCOSE(coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, x256}, coseParam{-3, y256}), false},
		{"no alg", encodeCOSE(coseParam{1, coseEC2}, coseParam{-1, 1}, coseParam{-2, x256}, coseParam{-3, y256}), false},
		{"unknown alg", ec2Key(-12345, 1, x256, y256), false},
		{"RS1", rsaCOSE(-65535, rsa2048), false},
		{"fully specified Ed25519 alg", okpKey(-19, 6, edPub), false},

		// RSA
		{"RSA 1024-bit", rsaCOSE(-257, rsa1024), false},
		{"RSA 2047-bit", rsaKey(-257, new(big.Int).Rsh(rsa2048.N, 1).Bytes(), e65537), false},
		{"RSA modulus over 8192 bits", rsaKey(-257, huge.Bytes(), e65537), false},
		{"RSA even modulus", rsaKey(-257, evenN, e65537), false},
		{"RSA empty modulus", rsaKey(-257, nil, e65537), false},
		{"RSA exponent 1", rsaKey(-257, n2048, []byte{1}), false},
		{"RSA exponent 3", rsaKey(-257, n2048, []byte{3}), false},
		{"RSA exponent 65536", rsaKey(-257, n2048, []byte{1, 0, 0}), false},
		{"RSA exponent 2^31+1", rsaKey(-257, n2048, []byte{0x80, 0, 0, 1}), false},
		{"RSA exponent of 5 bytes", rsaKey(-257, n2048, []byte{0, 0, 1, 0, 1}), false},
		{"RSA empty exponent", rsaKey(-257, n2048, nil), false},
		{"RSA without exponent", encodeCOSE(coseParam{1, coseRSA}, coseParam{3, -257}, coseParam{-1, n2048}), false},
		{"RSA with private exponent", encodeCOSE(coseParam{1, coseRSA}, coseParam{3, -257}, coseParam{-1, n2048}, coseParam{-2, e65537}, coseParam{-3, n2048}), false},

		// OKP
		{"Ed25519 short key", okpKey(-8, 6, edPub[:31]), false},
		{"Ed25519 long key", okpKey(-8, 6, append(slices.Clone(edPub), 0)), false},
		{"Ed25519 empty key", okpKey(-8, 6, nil), false},
		{"Ed25519 point not on the curve", okpKey(-8, 6, ed25519NotOnCurve), false},
		{"Ed25519 non-canonical y", okpKey(-8, 6, ed25519NonCanonical), false},
		{"Ed25519 negative zero x", okpKey(-8, 6, mustHex("0100000000000000000000000000000000000000000000000000000000000080")), false},
		{"Ed25519 small order", okpKey(-8, 6, mustHex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05")), false},
		{"Ed25519 neutral element", okpKey(-8, 6, mustHex("0100000000000000000000000000000000000000000000000000000000000000")), false},
		{"Ed448 curve", okpKey(-8, 7, edPub), false},
		{"X25519 curve", okpKey(-8, 4, edPub), false},
		{"OKP without curve", encodeCOSE(coseParam{1, coseOKP}, coseParam{3, -8}, coseParam{-2, edPub}), false},
		{"OKP with private key", encodeCOSE(coseParam{1, coseOKP}, coseParam{3, -8}, coseParam{-1, 6}, coseParam{-2, edPub}, coseParam{-4, edPub}), false},

		// CBOR
		{"empty", nil, false},
		{"not a map", rawauthn.Head(nil, 4, 0), false},
		{"empty map", encodeCOSE(), false},
		{"duplicate label", encodeCOSE(coseParam{1, coseEC2}, coseParam{3, es256}, coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, x256}, coseParam{-3, y256}), false},
		{"duplicate label, other value", encodeCOSE(coseParam{1, coseRSA}, coseParam{1, coseEC2}, coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, x256}, coseParam{-3, y256}), false},
		{"trailing byte", append(ec2Key(es256, 1, x256, y256), 0), false},
		{"truncated", ec2Key(es256, 1, x256, y256)[:40], false},
		{"indefinite map", append(append([]byte{0xbf}, ec2Key(es256, 1, x256, y256)[1:]...), 0xff), false},
		{"tagged value", encodeCOSE(coseParam{1, coseEC2}, coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, rawauthn.Raw(append([]byte{0xc2, 0x58, 32}, x256...))}, coseParam{-3, y256}), false},
		{"text label", append([]byte{0xa6, 0x61, 'x', 0x01}, ec2Key(es256, 1, x256, y256)[1:]...), false},
		{"float kty", encodeCOSE(coseParam{1, rawauthn.Raw{0xf9, 0x40, 0x00}}, coseParam{3, es256}, coseParam{-1, 1}, coseParam{-2, x256}, coseParam{-3, y256}), false},
		{"integer out of range", encodeCOSE(coseParam{1, rawauthn.Raw{0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, coseParam{3, es256}), false},
		{"byte string past the end", []byte{0xa1, 0x21, 0x58, 0xff, 0x00}, false},
		{"reserved additional information", []byte{0xa1, 0x1c}, false},
		{"too many parameters", rawauthn.Head(nil, 5, 1000), false},
	}
}

func TestCheckPublicKey(t *testing.T) {
	for _, tc := range publicKeyCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			err := checkPublicKey(tc.key)
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Errorf("accepted %x", tc.key)
			}
		})
	}
}

// TestCheckPublicKeyOffered checks that every algorithm the creation
// options offer is one whose keys are validated.
func TestCheckPublicKeyOffered(t *testing.T) {
	for _, p := range credentialParameters {
		if _, ok := keyAlgorithms[int64(p.Algorithm)]; !ok {
			t.Errorf("algorithm %d is offered but its keys are not validated", p.Algorithm)
		}
	}
}

// edwardsDecode decodes an Ed25519 point encoding the slow, obvious way
// (RFC 8032 §5.1.3), for the tests: ok is false when it is no point.
func edwardsDecode(k []byte) (x, y *big.Int, ok bool) {
	p := ed25519P
	le := make([]byte, 32)
	for i := range le {
		le[i] = k[31-i]
	}
	sign := uint(le[0] >> 7)
	le[0] &= 0x7f
	y = new(big.Int).SetBytes(le)
	if y.Cmp(p) >= 0 {
		return nil, nil, false
	}
	y2 := new(big.Int).Mul(y, y)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	v := new(big.Int).Mul(ed25519D, y2)
	v.Add(v, big.NewInt(1)).Mod(v, p)
	x2 := new(big.Int).Mul(u, new(big.Int).ModInverse(v, p))
	x2.Mod(x2, p)
	x = new(big.Int).ModSqrt(x2, p)
	if x == nil || (x.Sign() == 0 && sign == 1) {
		return nil, nil, false
	}
	if x.Bit(0) != sign {
		x.Sub(p, x)
	}
	return x, y, true
}

// edwardsDouble returns 2·(x, y) on edwards25519 (a = -1) in affine
// coordinates: x' = 2xy / (y² - x²), y' = (y² + x²) / (2 - y² + x²).
func edwardsDouble(x, y *big.Int) (*big.Int, *big.Int) {
	p := ed25519P
	xx := new(big.Int).Mul(x, x)
	yy := new(big.Int).Mul(y, y)
	dx := new(big.Int).Sub(yy, xx)
	dx.Mod(dx, p)
	dy := new(big.Int).Sub(big.NewInt(2), dx)
	dy.Mod(dy, p)
	nx := new(big.Int).Mul(x, y)
	nx.Lsh(nx, 1).Mul(nx, dx.ModInverse(dx, p)).Mod(nx, p)
	ny := new(big.Int).Add(yy, xx)
	ny.Mul(ny, dy.ModInverse(dy, p)).Mod(ny, p)
	return nx, ny
}

// smallOrder reports whether [8](x, y) is the neutral element (0, 1).
func smallOrder(x, y *big.Int) bool {
	for range 3 {
		x, y = edwardsDouble(x, y)
	}
	return x.Sign() == 0 && y.Cmp(big.NewInt(1)) == 0
}

func TestEd25519Points(t *testing.T) {
	// The small-order list is right: eight distinct points, each of
	// small order, with a canonical encoding.
	if len(ed25519SmallOrder) != 8 {
		t.Fatalf("%d small-order points, want 8", len(ed25519SmallOrder))
	}
	for k := range ed25519SmallOrder {
		x, y, ok := edwardsDecode(k[:])
		if !ok || !smallOrder(x, y) {
			t.Errorf("%x: point %v, small order %v", k, ok, ok && smallOrder(x, y))
		}
		if err := checkEd25519Point(k[:]); err == nil || !strings.Contains(err.Error(), "small order") {
			t.Errorf("%x: %v, want small order", k, err)
		}
	}
	if x, y, ok := edwardsDecode(ed25519Base); !ok || smallOrder(x, y) {
		t.Errorf("base point: point %v, small order %v", ok, ok && smallOrder(x, y))
	}
	// Real keys are accepted, and random encodings are judged as the
	// obvious decoder and crypto/ed25519 judge them.
	for range 200 {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkEd25519Point(pub); err != nil {
			t.Errorf("real key %x refused: %v", pub, err)
		}
		k := make([]byte, 32)
		rand.Read(k)
		mine := checkEd25519Point(k)
		x, y, point := edwardsDecode(k)
		if want := point && !smallOrder(x, y); (mine == nil) != want {
			t.Errorf("%x: checkEd25519Point %v, want valid %v", k, mine, want)
		}
		std := ed25519.VerifyWithOptions(k, nil, make([]byte, 64), &ed25519.Options{})
		if stdPoint := std == nil || !strings.Contains(std.Error(), "bad public key"); point && !stdPoint {
			t.Errorf("%x: a point, but crypto/ed25519 says %v", k, std)
		}
	}
}

// FuzzCheckPublicKey checks that checkPublicKey never panics and that
// whatever it accepts go-webauthn parses as the same key and the standard
// library takes as a public key. Seeds: the accepted and refused keys of
// TestCheckPublicKey, among them the software authenticator's.
//
//	go test ./selfhosted -run '^$' -fuzz FuzzCheckPublicKey -fuzztime 3m
func FuzzCheckPublicKey(f *testing.F) {
	for _, tc := range publicKeyCases(f) {
		f.Add(tc.key)
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		if checkPublicKey(key) != nil {
			return
		}
		parsed, err := webauthncose.ParsePublicKey(key)
		if err != nil {
			t.Fatalf("accepted a key go-webauthn refuses: %v", err)
		}
		switch k := parsed.(type) {
		case webauthncose.EC2PublicKeyData:
			if _, err := k.ToECDSA(); err != nil {
				t.Fatalf("accepted EC2 key: %v", err)
			}
		case webauthncose.OKPPublicKeyData:
			if err := ed25519.VerifyWithOptions(k.XCoord, nil, make([]byte, 64), &ed25519.Options{}); err != nil && strings.Contains(err.Error(), "bad public key") {
				t.Fatalf("accepted Ed25519 key crypto/ed25519 refuses: %v", err)
			}
		case webauthncose.RSAPublicKeyData:
			e, err := webauthncose.ParseRSAPublicKeyDataExponent(&k)
			n := new(big.Int).SetBytes(k.Modulus)
			if err != nil || e < minRSAExponent || n.BitLen() < minRSABits {
				t.Fatalf("accepted RSA key with e %d, %d bits: %v", e, n.BitLen(), err)
			}
		default:
			t.Fatalf("accepted a %T", parsed)
		}
		// go-webauthn stores a key re-encoded in CTAP2 canonical form; that
		// form must pass too.
		var v any
		if err := webauthncbor.Unmarshal(key, &v); err != nil {
			t.Fatalf("accepted a key go-webauthn cannot decode: %v", err)
		}
		canonical, err := webauthncbor.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkPublicKey(canonical); err != nil {
			t.Fatalf("accepted %x but refuses its canonical form %x: %v", key, canonical, err)
		}
	})
}
