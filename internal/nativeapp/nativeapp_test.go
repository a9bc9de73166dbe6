package nativeapp

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func TestFingerprintOrigin(t *testing.T) {
	cert := []byte("a DER certificate would be here")
	sum := sha256.Sum256(cert)
	var colon []string
	for _, b := range sum {
		colon = append(colon, strings.ToLower(string("0123456789ABCDEF"[b>>4])+string("0123456789ABCDEF"[b&15])))
	}
	f, err := ParseFingerprint(strings.Join(colon, ":"))
	if err != nil {
		t.Fatal(err)
	}
	if f != Fingerprint(sum) {
		t.Fatalf("parsed %x, want %x", f, sum)
	}
	if got, want := f.Origin(), "android:apk-key-hash:"+base64.RawURLEncoding.EncodeToString(sum[:]); got != want {
		t.Errorf("Origin %q, want %q", got, want)
	}
	if got, want := f.String(), strings.ToUpper(strings.Join(colon, ":")); got != want {
		t.Errorf("String %q, want %q", got, want)
	}
	if strings.Contains(f.Origin(), "=") {
		t.Errorf("origin %q is padded", f.Origin())
	}
}

func TestChecks(t *testing.T) {
	for _, ok := range []string{"com.example.app", "io.flutter.demo_app", "A.b"} {
		if err := CheckPackageName(ok); err != nil {
			t.Errorf("CheckPackageName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "app", "com..app", ".com.app", "com.app.", "com.1app", "com.ex-ample", "com.exämple"} {
		if CheckPackageName(bad) == nil {
			t.Errorf("CheckPackageName(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"ABCDE12345.com.example.app", "0123456789.a", "ABCDE12345.com.example-app"} {
		if err := CheckAppleAppID(ok); err != nil {
			t.Errorf("CheckAppleAppID(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ABCDE12345", "ABCDE12345.", "ABCDE1234.com.x", "ABCDE123456.com.x", "abcde12345.com.x", "ABCDE12345.com..x", "ABCDE12345.com.x.", "ABCDE12345.com x"} {
		if CheckAppleAppID(bad) == nil {
			t.Errorf("CheckAppleAppID(%q) accepted", bad)
		}
	}
}

func TestParseAndroidAppFlags(t *testing.T) {
	a := strings.Repeat("AB:", 31) + "AB"
	b := strings.Repeat("cd:", 31) + "cd"
	apps, err := ParseAndroidAppFlags("-android-app", []string{"com.example.app:" + a, "com.example.other:" + b, "com.example.app:" + b})
	if err != nil {
		t.Fatal(err)
	}
	want := []AndroidApp{{"com.example.app", []string{a, b}}, {"com.example.other", []string{b}}}
	if fmt.Sprint(apps) != fmt.Sprint(want) {
		t.Errorf("apps %v, want %v", apps, want)
	}
	for _, v := range []string{"com.example.app", "https://example.com:" + a, "app:" + a, "com.example.app:AB:CD"} {
		if _, err := ParseAndroidAppFlags("-android-app", []string{v}); err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("-android-app %q", v)) {
			t.Errorf("%q: error %v, want one naming the flag and the value", v, err)
		}
	}
	if apps, err := ParseAndroidAppFlags("-android-app", nil); err != nil || apps != nil {
		t.Errorf("no values: %v, %v", apps, err)
	}
}
