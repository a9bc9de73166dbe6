package strictjson

import (
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
)

func TestCheckDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		dup      *DuplicateError // nil: no duplicate
	}{
		{"empty object", `{}`, nil},
		{"scalars", `"a" 1 null true`, nil},
		{"distinct members", `{"email":"a@example.com","otp":"123456"}`, nil},
		{"same name in sibling objects", `[{"a":1},{"a":2}]`, nil},
		{"same name at two depths", `{"a":{"a":1}}`, nil},
		{"top-level duplicate", `{"otp":"123456","otp":null}`, &DuplicateError{Name: "otp"}},
		{"escaped spelling of one name", `{"otp":"1","\u006ftp":"2"}`, &DuplicateError{Name: "otp"}},
		{"nested duplicate", `{"assertionResponse":{"response":{"signature":"x","signature":"y"}}}`, &DuplicateError{Name: "signature", Path: "/assertionResponse/response"}},
		{"duplicate inside an array", `{"a":[1,{"b":1,"b":2}]}`, &DuplicateError{Name: "b", Path: "/a/1"}},
		{"pointer escapes", `{"x/y~":{"k":1,"k":1}}`, &DuplicateError{Name: "k", Path: "/x~1y~0"}},
		{"duplicate in the second value", `{} {"a":1,"a":1}`, &DuplicateError{Name: "a"}},
		{"names that differ in case", `{"otp":"123456","OTP":null}`, &DuplicateError{Name: "otp", Other: "OTP"}},
		{"long s folds onto s", `{"clientCapabilities":{},"clientCapabilitie\u017f":{}}`, &DuplicateError{Name: "clientCapabilities", Other: "clientCapabilitie\u017f"}},
		{"Kelvin sign folds onto k", `{"kty":1,"\u212aty":2}`, &DuplicateError{Name: "kty", Other: "\u212aty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDuplicates([]byte(tc.in))
			if tc.dup == nil {
				if err != nil {
					t.Fatalf("CheckDuplicates(%s) = %v, want nil", tc.in, err)
				}
				return
			}
			var de *DuplicateError
			if !errors.As(err, &de) || *de != *tc.dup {
				t.Fatalf("CheckDuplicates(%s) = %v, want %v", tc.in, err, tc.dup)
			}
		})
	}
}

func TestCheckDuplicatesInvalidJSON(t *testing.T) {
	for _, in := range []string{`{"a":`, `{"a" 1}`, `[1,]`, `}`} {
		err := CheckDuplicates([]byte(in))
		var de *DuplicateError
		if err == nil || errors.As(err, &de) {
			t.Errorf("CheckDuplicates(%s) = %v, want a syntax error", in, err)
		}
	}
}

// Input that is not one valid value goes through the decoder; its cost
// must stay linear in the nesting depth. Building each level's JSON
// Pointer as it went made 16,000 unclosed brackets allocate 258 MB.
func TestCheckDuplicatesDeepInvalidLinear(t *testing.T) {
	for _, in := range []string{strings.Repeat("[", 20000), strings.Repeat(`{"a":`, 20000)} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := CheckDuplicates([]byte(in))
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("CheckDuplicates(%.10s...) = nil, want a syntax error", in)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<20 {
			t.Errorf("CheckDuplicates(%.10s... %d bytes) allocated %d MB", in, len(in), n>>20)
		}
	}
	// The pointer of a duplicate found by the decoder path still names
	// where it is.
	var de *DuplicateError
	if err := CheckDuplicates([]byte(`{"a":[1,{"b":{"c":1,"c":2}}]} {`)); !errors.As(err, &de) || de.Path != "/a/1/b" {
		t.Errorf("duplicate before invalid data: %v, want one in /a/1/b", err)
	}
}

func TestFoldName(t *testing.T) {
	names := []string{"otp", "OTP", "oTp", "s", "S", "\u017f", "k", "K", "\u212a", "\u00e9", "\u00c9", "\u03c3", "\u03c2", "\u03a3", "a/b", ""}
	for _, a := range names {
		for _, b := range names {
			if got, want := FoldName(a) == FoldName(b), strings.EqualFold(a, b); got != want {
				t.Errorf("FoldName(%q) == FoldName(%q) is %v, strings.EqualFold says %v", a, b, got, want)
			}
		}
	}
}

func FuzzFoldName(f *testing.F) {
	for _, s := range [][2]string{{"otp", "OTP"}, {"k", "\u212a"}, {"s", "\u017f"}, {"ß", "ẞ"}, {"Σ", "ς"}, {"a", "b"}, {"\xff", "\ufffd"}, {"clientCapabilities", "clientCapabilitie\u017f"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if got, want := FoldName(a) == FoldName(b), strings.EqualFold(a, b); got != want {
			t.Fatalf("FoldName(%q) == FoldName(%q) is %v, strings.EqualFold says %v", a, b, got, want)
		}
	})
}

func FuzzCheckDuplicates(f *testing.F) {
	for _, s := range []string{`{"otp":"1","otp":null}`, `{"a":[{"b":1}]}`, `{"\u0061":1,"a":2}`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = CheckDuplicates(data) // must not panic
	})
}

// FuzzWalkerMatchesDecoder: on one valid value, the byte walker finds
// what encoding/json's tokenizer finds: no duplicate, or the same one.
func FuzzWalkerMatchesDecoder(f *testing.F) {
	for _, s := range []string{
		`{"otp":"1","otp":null}`, `{"a":[{"b":1}]}`, `{"\u0061":1,"a":2}`, `[]`, ` {"x/y~":{"k":1,"K":1}} `,
		`{"kty":1,"\u212aty":2}`, `{"a\xffb":1,"a\ufffdb":2}`, `[1,-2.5e3,true,false,null,"s",{"":0,"":1}]`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"A":18}`,
		`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"Q":18}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			return
		}
		w := walker{data: data}
		got, want := w.value(), checkStream(data)
		var g, d *DuplicateError
		switch {
		case got == nil && want == nil:
		case errors.As(got, &g) && errors.As(want, &d) && *g == *d:
		default:
			t.Fatalf("walker: %v; decoder: %v", got, want)
		}
	})
}

// BenchmarkCheckDuplicates checks a passkey login's finish body, by the
// byte walker CheckDuplicates uses on one valid value and by the decoder.
func BenchmarkCheckDuplicates(b *testing.B) {
	body := []byte(`{"assertionResponse":{"id":"q2Vv2nQ6m5yYk3yJg0r0Fw","rawId":"q2Vv2nQ6m5yYk3yJg0r0Fw","type":"public-key",` +
		`"response":{"clientDataJSON":"eyJ0eXBlIjoid2ViYXV0aG4uZ2V0IiwiY2hhbGxlbmdlIjoiYWJjIiwib3JpZ2luIjoiaHR0cDovL2xvY2FsaG9zdDozMDAwIn0",` +
		`"authenticatorData":"SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ","signature":"MEUCIQDx","userHandle":"dXNlci0x"},` +
		`"clientExtensionResults":{},"authenticatorAttachment":"platform"}}`)
	for _, bc := range []struct {
		name  string
		check func([]byte) error
	}{{"CheckDuplicates", CheckDuplicates}, {"decoder", checkStream}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.check(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
