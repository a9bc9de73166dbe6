package selfhosted

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/passkeyready/passkeys"
)

// COSE key types (RFC 9052 §7, RFC 9053).
const (
	coseOKP = 1
	coseEC2 = 2
	coseRSA = 3
)

// COSE key parameter labels (RFC 9052 §7.1; RFC 9053 §7; RFC 8230 §4).
const (
	labelKty = 1
	labelAlg = 3
	// Key-type specific: crv, x, y for EC2; crv, x for OKP; n, e for RSA.
	labelM1 = -1
	labelM2 = -2
	labelM3 = -3
)

// keyAlgorithm is a COSE algorithm a credential public key may name, with
// what its key must look like.
type keyAlgorithm struct {
	name string
	kty  int64
	crv  int64      // EC2 and OKP: the one curve the algorithm allows
	ecdh ecdh.Curve // EC2: the curve, for the point check
	size int        // EC2: coordinate length; OKP: key length
}

// keyAlgorithms are the algorithms whose keys checkPublicKey validates;
// every other algorithm is refused. The engine offers a subset of them in
// its creation options (see credentialParameters), and go-webauthn refuses
// an algorithm that was not offered, so this list bounds what can be stored
// even if the offer grows. RS1 (SHA-1), ES256K, the fully-specified
// identifiers and post-quantum keys are not accepted.
var keyAlgorithms = map[int64]keyAlgorithm{
	int64(webauthncose.AlgES256): {name: "ES256", kty: coseEC2, crv: 1, ecdh: ecdh.P256(), size: 32},
	int64(webauthncose.AlgES384): {name: "ES384", kty: coseEC2, crv: 2, ecdh: ecdh.P384(), size: 48},
	int64(webauthncose.AlgES512): {name: "ES512", kty: coseEC2, crv: 3, ecdh: ecdh.P521(), size: 66},
	int64(webauthncose.AlgEdDSA): {name: "EdDSA", kty: coseOKP, crv: 6, size: ed25519.PublicKeySize},
	int64(webauthncose.AlgRS256): {name: "RS256", kty: coseRSA},
	int64(webauthncose.AlgRS384): {name: "RS384", kty: coseRSA},
	int64(webauthncose.AlgRS512): {name: "RS512", kty: coseRSA},
	int64(webauthncose.AlgPS256): {name: "PS256", kty: coseRSA},
	int64(webauthncose.AlgPS384): {name: "PS384", kty: coseRSA},
	int64(webauthncose.AlgPS512): {name: "PS512", kty: coseRSA},
}

// Bounds on RSA credential keys. A modulus of fewer than 2048 bits is too
// weak (NIST SP 800-131A); more than 8192 bits is refused to bound the cost
// of every later verification, and no authenticator makes such keys. The
// public exponent must be odd with 2^16 < e < 2^31: the lower bound is
// FIPS 186-5 §5.5(e), the upper one the largest exponent crypto/rsa
// verifies with, so that every stored key can be used.
const (
	minRSABits     = 2048
	maxRSABits     = 8192
	minRSAExponent = 1<<16 + 1
	maxRSAExponent = 1<<31 - 1
)

// errBadKey is what a client sees when its passkey's public key is refused.
var errBadKey = passkeys.ErrVerificationFailed.With("The passkey's public key is malformed, of an unsupported kind or too weak.", nil).WithReason(passkeys.ReasonKey)

// checkPublicKey validates a credential public key before it is stored (and
// a stored one before it is used): cose is the COSE_Key from the attested
// credential data, as go-webauthn keeps it in Credential.PublicKey. The key
// must be one CBOR map of integer labels, definite lengths, no tags, no
// duplicate labels and nothing after it, holding kty, alg and the
// parameters that key type requires and nothing else (WebAuthn L3 §6.5.1.1
// forbids the optional ones, and a private part has no business here). alg
// must be one of keyAlgorithms and agree with kty and crv; then:
//
//   - EC2: x and y byte strings of exactly the curve's length that name a
//     point on the curve (crypto/ecdh's check, which also refuses
//     coordinates not reduced modulo p); compressed points are refused.
//   - OKP: an Ed25519 key (crv 6) of exactly 32 bytes that is the canonical
//     encoding of a curve point not of small order.
//   - RSA: a modulus of 2048 to 8192 bits that is odd, and an odd public
//     exponent in (2^16, 2^31).
//
// Finally go-webauthn's own parser, the one every login uses, must read the
// same key. The error says what is wrong, for the log; wrap it in errBadKey
// for the client.
func checkPublicKey(cose []byte) error {
	m, err := parseCOSEKey(cose)
	if err != nil {
		return err
	}
	kty, err := m.int(labelKty, "kty")
	if err != nil {
		return err
	}
	alg, err := m.int(labelAlg, "alg")
	if err != nil {
		return err
	}
	a, ok := keyAlgorithms[alg]
	if !ok {
		return fmt.Errorf("algorithm %d is not accepted", alg)
	}
	if kty != a.kty {
		return fmt.Errorf("key type %d does not fit algorithm %s", kty, a.name)
	}
	switch kty {
	case coseEC2:
		err = checkEC2(m, a)
	case coseOKP:
		err = checkOKP(m, a)
	default:
		err = checkRSA(m)
	}
	if err != nil {
		return err
	}
	return sameAsWebAuthn(cose, m, kty)
}

func checkEC2(m coseKey, a keyAlgorithm) error {
	if err := m.only(labelKty, labelAlg, labelM1, labelM2, labelM3); err != nil {
		return err
	}
	crv, err := m.int(labelM1, "crv")
	if err != nil {
		return err
	}
	if crv != a.crv {
		return fmt.Errorf("curve %d does not fit algorithm %s", crv, a.name)
	}
	x, err := m.bytes(labelM2, "x")
	if err != nil {
		return err
	}
	y, err := m.bytes(labelM3, "y")
	if err != nil {
		return err
	}
	if len(x) != a.size || len(y) != a.size {
		return fmt.Errorf("%s coordinates of %d and %d bytes, want %d", a.name, len(x), len(y), a.size)
	}
	point := make([]byte, 0, 1+2*a.size)
	point = append(append(append(point, 4), x...), y...)
	if _, err := a.ecdh.NewPublicKey(point); err != nil {
		return fmt.Errorf("%s point is not on the curve", a.name)
	}
	return nil
}

func checkOKP(m coseKey, a keyAlgorithm) error {
	if err := m.only(labelKty, labelAlg, labelM1, labelM2); err != nil {
		return err
	}
	crv, err := m.int(labelM1, "crv")
	if err != nil {
		return err
	}
	if crv != a.crv {
		return fmt.Errorf("curve %d does not fit algorithm %s", crv, a.name)
	}
	x, err := m.bytes(labelM2, "x")
	if err != nil {
		return err
	}
	if len(x) != a.size {
		return fmt.Errorf("Ed25519 key of %d bytes, want %d", len(x), a.size)
	}
	return checkEd25519Point(x)
}

func checkRSA(m coseKey) error {
	if err := m.only(labelKty, labelAlg, labelM1, labelM2); err != nil {
		return err
	}
	nb, err := m.bytes(labelM1, "n")
	if err != nil {
		return err
	}
	eb, err := m.bytes(labelM2, "e")
	if err != nil {
		return err
	}
	if len(nb) > maxRSABits/8+1 {
		return fmt.Errorf("RSA modulus of %d bytes", len(nb))
	}
	n := new(big.Int).SetBytes(nb)
	if bits := n.BitLen(); bits < minRSABits || bits > maxRSABits {
		return fmt.Errorf("RSA modulus of %d bits, want %d to %d", bits, minRSABits, maxRSABits)
	}
	if n.Bit(0) == 0 {
		return errors.New("RSA modulus is even")
	}
	if len(eb) == 0 || len(eb) > 4 {
		return fmt.Errorf("RSA exponent of %d bytes", len(eb))
	}
	var e uint64
	for _, b := range eb {
		e = e<<8 | uint64(b)
	}
	if e < minRSAExponent || e > maxRSAExponent || e&1 == 0 {
		return fmt.Errorf("RSA exponent %d is not odd in (2^16, 2^31)", e)
	}
	return nil
}

// sameAsWebAuthn checks that go-webauthn's COSE parser, which every login
// uses, accepts cose and reads the same key material from it, so that no
// difference between the two parsers lets an unchecked key through.
func sameAsWebAuthn(cose []byte, m coseKey, kty int64) error {
	k, err := webauthncose.ParsePublicKey(cose)
	if err != nil {
		return fmt.Errorf("go-webauthn refuses the key: %w", err)
	}
	same := false
	switch k := k.(type) {
	case webauthncose.EC2PublicKeyData:
		same = kty == coseEC2 && k.Algorithm == m[labelAlg].n && k.Curve == m[labelM1].n &&
			bytes.Equal(k.XCoord, m[labelM2].b) && bytes.Equal(k.YCoord, m[labelM3].b)
	case webauthncose.OKPPublicKeyData:
		same = kty == coseOKP && k.Algorithm == m[labelAlg].n && k.Curve == m[labelM1].n &&
			bytes.Equal(k.XCoord, m[labelM2].b)
	case webauthncose.RSAPublicKeyData:
		same = kty == coseRSA && k.Algorithm == m[labelAlg].n &&
			bytes.Equal(k.Modulus, m[labelM1].b) && bytes.Equal(k.Exponent, m[labelM2].b)
	}
	if !same {
		return fmt.Errorf("go-webauthn reads the key differently (%T)", k)
	}
	return nil
}

// Ed25519 field and curve constants (RFC 8032 §5.1).
var (
	ed25519P = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 255), big.NewInt(19))
	ed25519D = func() *big.Int { // -121665/121666 mod p
		d := new(big.Int).ModInverse(big.NewInt(121666), ed25519P)
		d.Mul(d, big.NewInt(-121665))
		return d.Mod(d, ed25519P)
	}()
	ed25519Half = new(big.Int).Rsh(ed25519P, 1) // (p-1)/2, for Euler's criterion
)

// ed25519SmallOrder holds the canonical encodings of the eight points of
// order 1, 2, 4 and 8 (the torsion subgroup).
var ed25519SmallOrder = func() map[[32]byte]bool {
	m := map[[32]byte]bool{}
	for _, h := range []string{
		"0100000000000000000000000000000000000000000000000000000000000000",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0000000000000000000000000000000000000000000000000000000000000080",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	} {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != 32 {
			panic("selfhosted: bad small-order point " + h)
		}
		m[[32]byte(b)] = true
	}
	return m
}()

// checkEd25519Point checks that k is the canonical encoding of a point on
// edwards25519 (RFC 8032 §5.1.3, with y < p and no negative zero) that is
// not of small order: a small-order "public key" has no private key behind
// it, and a non-canonical one is not the key it seems to be.
func checkEd25519Point(k []byte) error {
	p := ed25519P
	le := make([]byte, 32)
	for i := range le {
		le[i] = k[31-i]
	}
	le[0] &= 0x7f // the sign of x
	y := new(big.Int).SetBytes(le)
	if y.Cmp(p) >= 0 {
		return errors.New("Ed25519 key is not canonical")
	}
	if ed25519SmallOrder[[32]byte(k)] {
		return errors.New("Ed25519 key is a point of small order")
	}
	// x² = (y² - 1) / (d·y² + 1); the point exists when that is a square.
	y2 := new(big.Int).Mul(y, y)
	y2.Mod(y2, p)
	u := new(big.Int).Sub(y2, big.NewInt(1))
	u.Mod(u, p)
	v := new(big.Int).Mul(ed25519D, y2)
	v.Add(v, big.NewInt(1)).Mod(v, p)
	x2 := v.ModInverse(v, p) // v ≠ 0: -1/d is not a square
	x2.Mul(x2, u).Mod(x2, p)
	if x2.Sign() == 0 {
		// x = 0: y = ±1, both of small order and refused above, unless
		// the sign bit asks for a negative zero.
		return errors.New("Ed25519 key is not canonical")
	}
	if new(big.Int).Exp(x2, ed25519Half, p).Cmp(big.NewInt(1)) != 0 {
		return errors.New("Ed25519 key is not a point on the curve")
	}
	return nil // either sign of a nonzero x gives a point
}

// coseValue is a COSE key parameter: an integer or a byte string.
type coseValue struct {
	isBytes bool
	n       int64
	b       []byte
}

// coseKey maps the labels of a COSE_Key to their values.
type coseKey map[int64]coseValue

func (m coseKey) int(label int64, name string) (int64, error) {
	v, ok := m[label]
	if !ok || v.isBytes {
		return 0, fmt.Errorf("COSE key without integer %s", name)
	}
	return v.n, nil
}

func (m coseKey) bytes(label int64, name string) ([]byte, error) {
	v, ok := m[label]
	if !ok || !v.isBytes {
		return nil, fmt.Errorf("COSE key without byte string %s", name)
	}
	return v.b, nil
}

// only refuses a key with any label but these.
func (m coseKey) only(labels ...int64) error {
	for l := range m {
		found := false
		for _, want := range labels {
			found = found || l == want
		}
		if !found {
			return fmt.Errorf("COSE key has parameter %d, which this key type must not carry", l)
		}
	}
	return nil
}

// maxCOSEKeyParams bounds the map a COSE key may be; the largest valid one
// (EC2) has five parameters.
const maxCOSEKeyParams = 16

// parseCOSEKey decodes one CBOR map (RFC 8949) of integer labels to integer
// or byte-string values. It refuses indefinite lengths, tags, every other
// major type, duplicate labels and trailing bytes; it does not require the
// shortest encoding of heads or a key order, which change nothing about the
// key.
func parseCOSEKey(b []byte) (coseKey, error) {
	d := cborReader{b: b}
	major, n, err := d.head()
	if err != nil {
		return nil, err
	}
	if major != 5 {
		return nil, fmt.Errorf("COSE key is CBOR major type %d, not a map", major)
	}
	if n > maxCOSEKeyParams {
		return nil, fmt.Errorf("COSE key has %d parameters", n)
	}
	m := make(coseKey, n)
	for range n {
		label, err := d.int()
		if err != nil {
			return nil, fmt.Errorf("COSE key label: %w", err)
		}
		if _, dup := m[label]; dup {
			return nil, fmt.Errorf("COSE key has parameter %d twice", label)
		}
		major, arg, err := d.head()
		if err != nil {
			return nil, err
		}
		var v coseValue
		switch major {
		case 0, 1:
			if v.n, err = cborInt(major, arg); err != nil {
				return nil, err
			}
		case 2:
			if arg > uint64(len(d.b)-d.off) {
				return nil, errors.New("COSE key byte string runs past the end")
			}
			v.isBytes, v.b = true, d.b[d.off:d.off+int(arg)]
			d.off += int(arg)
		default:
			return nil, fmt.Errorf("COSE key parameter %d is CBOR major type %d, not an integer or byte string", label, major)
		}
		m[label] = v
	}
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%d bytes after the COSE key", len(d.b)-d.off)
	}
	return m, nil
}

// cborReader reads CBOR data item heads.
type cborReader struct {
	b   []byte
	off int
}

// head reads a head and returns its major type and argument. Indefinite
// lengths and the reserved additional information values are errors.
func (d *cborReader) head() (major byte, arg uint64, err error) {
	if d.off >= len(d.b) {
		return 0, 0, errors.New("COSE key ends early")
	}
	ib := d.b[d.off]
	d.off++
	major, info := ib>>5, ib&0x1f
	if major == 6 {
		return 0, 0, errors.New("COSE key has a CBOR tag")
	}
	switch {
	case info < 24:
		return major, uint64(info), nil
	case info <= 27:
		size := 1 << (info - 24)
		if len(d.b)-d.off < size {
			return 0, 0, errors.New("COSE key ends early")
		}
		var buf [8]byte
		copy(buf[8-size:], d.b[d.off:d.off+size])
		d.off += size
		return major, binary.BigEndian.Uint64(buf[:]), nil
	case info == 31:
		return 0, 0, errors.New("COSE key has an indefinite length")
	default:
		return 0, 0, fmt.Errorf("COSE key has reserved CBOR additional information %d", info)
	}
}

// int reads an integer data item.
func (d *cborReader) int() (int64, error) {
	major, arg, err := d.head()
	if err != nil {
		return 0, err
	}
	if major > 1 {
		return 0, fmt.Errorf("CBOR major type %d, not an integer", major)
	}
	return cborInt(major, arg)
}

// cborInt is the value of an integer head: arg for major type 0, -1-arg
// for major type 1; values outside int64 are errors.
func cborInt(major byte, arg uint64) (int64, error) {
	if arg > math.MaxInt64 {
		return 0, errors.New("COSE key integer out of range")
	}
	if major == 1 {
		return -1 - int64(arg), nil
	}
	return int64(arg), nil
}
