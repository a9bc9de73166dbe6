package passkeystest

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// TestCBOR checks the encoder against the examples of RFC 8949 Appendix A
// and the boundaries of each head length.
func TestCBOR(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"0", appendInt(nil, 0), "00"},
		{"23", appendInt(nil, 23), "17"},
		{"24", appendInt(nil, 24), "1818"},
		{"100", appendInt(nil, 100), "1864"},
		{"1000", appendInt(nil, 1000), "1903e8"},
		{"1000000", appendInt(nil, 1000000), "1a000f4240"},
		{"1000000000000", appendInt(nil, 1000000000000), "1b000000e8d4a51000"},
		{"255", appendInt(nil, 255), "18ff"},
		{"256", appendInt(nil, 256), "190100"},
		{"65535", appendInt(nil, 65535), "19ffff"},
		{"65536", appendInt(nil, 65536), "1a00010000"},
		{"4294967295", appendInt(nil, 4294967295), "1affffffff"},
		{"4294967296", appendInt(nil, 4294967296), "1b0000000100000000"},
		{"-1", appendInt(nil, -1), "20"},
		{"-10", appendInt(nil, -10), "29"},
		{"-100", appendInt(nil, -100), "3863"},
		{"-1000", appendInt(nil, -1000), "3903e7"},
		{`h''`, appendBytes(nil, nil), "40"},
		{`h'01020304'`, appendBytes(nil, []byte{1, 2, 3, 4}), "4401020304"},
		{`""`, appendText(nil, ""), "60"},
		{`"IETF"`, appendText(nil, "IETF"), "6449455446"},
		{"{}", appendMapHead(nil, 0), "a0"},
		{"24-byte text", appendText(nil, strings.Repeat("a", 24)), "7818" + strings.Repeat("61", 24)},
		{"256-byte string", appendBytes(nil, make([]byte, 256))[:3], "590100"},
	}
	for _, tt := range tests {
		if got := hex.EncodeToString(tt.got); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestNoneAttestationObject(t *testing.T) {
	got := noneAttestationObject([]byte{0xaa, 0xbb})
	want, _ := hex.DecodeString("a3" + "63666d74" + "646e6f6e65" + "6761747453746d74" + "a0" + "6861757468446174" + "61" + "42aabb")
	if !bytes.Equal(got, want) {
		t.Errorf("got %x\nwant %x", got, want)
	}
}
