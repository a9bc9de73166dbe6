package passkeystest

import "math"

// CBOR major types (RFC 8949 §3.1) used by this package.
const (
	cborUint  = 0
	cborNeg   = 1
	cborBytes = 2
	cborText  = 3
	cborMap   = 5
)

// appendHead appends a CBOR data item head: the major type and its argument
// in the shortest form, as CTAP2 canonical encoding requires.
func appendHead(b []byte, major byte, n uint64) []byte {
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
	default:
		return append(b, m|27, byte(n>>56), byte(n>>48), byte(n>>40), byte(n>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// appendInt appends a CBOR integer.
func appendInt(b []byte, v int64) []byte {
	if v < 0 {
		return appendHead(b, cborNeg, uint64(-1-v))
	}
	return appendHead(b, cborUint, uint64(v))
}

// appendBytes appends a CBOR byte string.
func appendBytes(b, v []byte) []byte {
	return append(appendHead(b, cborBytes, uint64(len(v))), v...)
}

// appendText appends a CBOR text string.
func appendText(b []byte, v string) []byte {
	return append(appendHead(b, cborText, uint64(len(v))), v...)
}

// appendMapHead appends the head of a CBOR map with n key/value pairs; the
// caller appends the pairs in canonical key order.
func appendMapHead(b []byte, n int) []byte {
	return appendHead(b, cborMap, uint64(n))
}

// coseES256Key encodes an uncompressed P-256 point (0x04 || x || y) as a
// COSE_Key: {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}.
func coseES256Key(point []byte) []byte {
	b := appendMapHead(nil, 5)
	b = appendInt(b, 1)
	b = appendInt(b, 2)
	b = appendInt(b, 3)
	b = appendInt(b, algES256)
	b = appendInt(b, -1)
	b = appendInt(b, 1)
	b = appendInt(b, -2)
	b = appendBytes(b, point[1:33])
	b = appendInt(b, -3)
	b = appendBytes(b, point[33:65])
	return b
}

// noneAttestationObject encodes {"fmt": "none", "attStmt": {}, "authData": authData}.
func noneAttestationObject(authData []byte) []byte {
	b := appendMapHead(nil, 3)
	b = appendText(b, "fmt")
	b = appendText(b, "none")
	b = appendText(b, "attStmt")
	b = appendMapHead(b, 0)
	b = appendText(b, "authData")
	b = appendBytes(b, authData)
	return b
}
