package selfhosted

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/passkeyready/passkeys/internal/strictjson"
	"github.com/passkeyready/passkeys/internal/weborigin"
)

// TestNewOriginSet checks what newOriginSet adds to weborigin.Check, whose
// own tests hold the cases of what an origin may look like: every accepted
// entry is in the set, and a refused one fails with an error that names
// Config.Origins, quotes the entry and gives weborigin's reason.
func TestNewOriginSet(t *testing.T) {
	good := []string{"https://example.com", "https://login.example.com:8443", "http://localhost:3000"}
	set, err := newOriginSet(good)
	if err != nil {
		t.Fatalf("refused %q: %v", good, err)
	}
	if len(set) != len(good) {
		t.Errorf("set %v, want the %d origins", set, len(good))
	}
	for _, o := range good {
		if _, ok := set[o]; !ok {
			t.Errorf("%s is not in the set %v", o, set)
		}
	}
	for _, o := range []string{"https://example.com:443", "https://Example.com", "https://example.com/app", "android:apk-key-hash:abc"} {
		t.Run(o, func(t *testing.T) {
			set, err := newOriginSet([]string{"https://example.com", o})
			want := weborigin.Check(o)
			switch {
			case want == nil:
				t.Fatalf("weborigin.Check accepts %q; pick a refused case", o)
			case err == nil:
				t.Errorf("accepted: set %v", set)
			case !strings.Contains(err.Error(), "Config.Origins") || !strings.Contains(err.Error(), fmt.Sprintf("%q", o)) || !strings.Contains(err.Error(), want.Error()):
				t.Errorf("error %q, want one naming Config.Origins, quoting %q and saying %q", err, o, want)
			}
		})
	}
}

func TestCheckOrigin(t *testing.T) {
	set, err := newOriginSet([]string{"https://example.com", "https://login.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	cd := func(origin string) string {
		return `{"type":"webauthn.get","challenge":"abc","origin":` + origin + `,"crossOrigin":false}`
	}
	for _, tc := range []struct {
		name, clientData string
		ok               bool
	}{
		{"exact", cd(`"https://example.com"`), true},
		{"second origin", cd(`"https://login.example.com"`), true},
		{"escaped slashes", cd(`"https:\/\/example.com"`), true},
		{"unicode escape", cd(`"https://ex\u0061mple.com"`), true},
		{"trailing slash", cd(`"https://example.com/"`), false},
		{"path", cd(`"https://example.com/login"`), false},
		{"query", cd(`"https://example.com?a=b"`), false},
		{"empty query", cd(`"https://example.com?"`), false},
		{"fragment", cd(`"https://example.com#x"`), false},
		{"userinfo", cd(`"https://user@example.com"`), false},
		{"upper-case host", cd(`"https://EXAMPLE.com"`), false},
		{"upper-case scheme", cd(`"HTTPS://example.com"`), false},
		{"default port", cd(`"https://example.com:443"`), false},
		{"other port", cd(`"https://example.com:8443"`), false},
		{"http", cd(`"http://example.com"`), false},
		{"trailing dot", cd(`"https://example.com."`), false},
		{"leading space", cd(`" https://example.com"`), false},
		{"NUL", cd(`"https://example.com\u0000"`), false},
		{"other site", cd(`"https://evil.example"`), false},
		{"empty", cd(`""`), false},
		{"null", cd(`null`), false},
		{"number", cd(`1`), false},
		{"array", cd(`["https://example.com"]`), false},
		{"no origin", `{"type":"webauthn.get","challenge":"abc"}`, false},
		{"only upper-case member", `{"type":"webauthn.get","challenge":"abc","Origin":"https://example.com"}`, false},
		{"duplicate origin, good last", `{"type":"webauthn.get","challenge":"abc","origin":"https://evil.example","origin":"https://example.com"}`, false},
		{"duplicate origin, good first", `{"type":"webauthn.get","challenge":"abc","origin":"https://example.com","origin":"https://evil.example"}`, false},
		{"duplicate in another case", `{"type":"webauthn.get","challenge":"abc","origin":"https://example.com","ORIGIN":"https://evil.example"}`, false},
		{"duplicate challenge", `{"type":"webauthn.get","challenge":"abc","challenge":"def","origin":"https://example.com"}`, false},
		{"duplicate inside tokenBinding", `{"type":"webauthn.get","challenge":"abc","origin":"https://example.com","tokenBinding":{"status":"supported","status":"present"}}`, false},
		{"duplicate inside an extra member", `{"type":"webauthn.get","challenge":"abc","origin":"https://example.com","other":[{"a":1,"A":2}]}`, false},
		{"extra member", `{"type":"webauthn.get","challenge":"abc","origin":"https://example.com","other_keys_can_be_added_here":"x"}`, true},
		{"trailing data", cd(`"https://example.com"`) + `{}`, false},
		{"not an object", `["https://example.com"]`, false},
		{"truncated", `{"origin":"https://example.com"`, false},
		{"empty input", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := set.checkOrigin([]byte(tc.clientData))
			if tc.ok && err != nil {
				t.Errorf("refused: %v", err)
			}
			if !tc.ok && err == nil {
				t.Errorf("accepted %s", tc.clientData)
			}
		})
	}
}

// FuzzCheckOrigin checks that checkOrigin never panics and that whatever it
// accepts, go-webauthn's reading of the clientDataJSON (encoding/json into
// protocol.CollectedClientData) finds the same, configured origin.
//
//	go test ./selfhosted -run '^$' -fuzz FuzzCheckOrigin -fuzztime 1m
func FuzzCheckOrigin(f *testing.F) {
	set, err := newOriginSet([]string{"https://example.com", "http://localhost:3000"})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		`{"type":"webauthn.get","challenge":"abc","origin":"https://example.com","crossOrigin":false}`,
		`{"type":"webauthn.create","challenge":"abc","origin":"http://localhost:3000"}`,
		`{"origin":"https:\/\/example.com"}`,
		`{"origin":"https://evil.example","origin":"https://example.com"}`,
		`{"origin":"https://example.com","ORIGIN":"https://evil.example"}`,
		`{"Origin":"https://example.com"}`,
		`{"origin":"https://example.com/"}`,
		`{"origin":["https://example.com"]}`,
		`{"a":{"origin":"x"},"origin":"https://example.com"}`,
		`{"origin":"https://example.com"} `,
		`{"origin":"https://example.com"}{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, cd []byte) {
		if set.checkOrigin(cd) != nil {
			return
		}
		var c protocol.CollectedClientData
		if err := json.Unmarshal(cd, &c); err != nil {
			t.Fatalf("accepted %q, which go-webauthn cannot decode: %v", cd, err)
		}
		if _, ok := set[c.Origin]; !ok {
			t.Fatalf("accepted %q, which go-webauthn reads as origin %q", cd, c.Origin)
		}
	})
}

func TestFoldName(t *testing.T) {
	names := []string{"origin", "ORIGIN", "Origin", "oRiGiN", "type", "TYPE", "k", "K", "\u212a", "s", "S", "\u017f", "\u00df", "\u1e9e", "\u0130", "i", "I", "\u0131", "", "\ufffd"}
	for _, a := range names {
		for _, b := range names {
			if got, want := strictjson.FoldName(a) == strictjson.FoldName(b), strings.EqualFold(a, b); got != want {
				t.Errorf("FoldName(%q) == FoldName(%q) is %v, strings.EqualFold %v", a, b, got, want)
			}
		}
	}
	// A clientDataJSON of 100,000 members is read in linear time (a
	// quadratic duplicate check would take minutes here).
	var cd strings.Builder
	cd.WriteString(`{"origin":"https://example.com"`)
	for i := range 100000 {
		fmt.Fprintf(&cd, `,"m%d":0`, i)
	}
	cd.WriteString(`}`)
	if _, _, err := clientDataOrigin([]byte(cd.String())); err != nil {
		t.Fatal(err)
	}
}

// FuzzClientDataMembers holds the in-place reading of a valid
// clientDataJSON to the tokenizer's: the same origin, package name and
// error.
//
//	go test ./selfhosted -run '^$' -fuzz FuzzClientDataMembers -fuzztime 1m
func FuzzClientDataMembers(f *testing.F) {
	for _, s := range []string{
		`{"type":"webauthn.get","challenge":"abc","origin":"https://example.com","crossOrigin":false}`,
		`{"origin":"https:\/\/example.com","androidPackageName":"com.example.app"}`,
		`{"origin":"https://example.com","androidPackageName":null}`,
		`{"origin":"https://example.com","androidPackageName":7}`,
		`{"Origin":"https://example.com"}`,
		`{"origin":["https://example.com"]}`,
		`{"origin":null}`,
		`{"a":{"origin":"x"},"origin":"https://example.com"}`,
		` {"origin":"https://example.com"} `,
		`["origin"]`,
		`"origin"`,
		`{}`,
		`{"\u006frigin":"https://example.com","x":[1,{"y":2}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, cd []byte) {
		if strictjson.CheckDuplicates(cd) != nil || !json.Valid(cd) {
			return
		}
		o1, p1, err1 := clientDataMembers(cd)
		o2, p2, err2 := clientDataDecoded(cd)
		if o1 != o2 || (p1 == nil) != (p2 == nil) || (p1 != nil && *p1 != *p2) || fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("%q: in place %q, %v, %v; tokenizer %q, %v, %v", cd, o1, p1, err1, o2, p2, err2)
		}
	})
}
