// Package nativeapp validates the native-app identities written in
// configuration (Android package names and signing-certificate
// fingerprints, Apple app IDs) and derives from them the origin an Android
// app's clientDataJSON carries, so that the root package's well-known
// documents and the self-hosted engine's origin check read the same
// configuration with the same rules.
package nativeapp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/passkeyready/passkeys/internal/weborigin"
)

// AndroidOriginPrefix starts the origin Android's Credential Manager puts
// in clientDataJSON for a native app: the prefix, then the unpadded
// base64url SHA-256 of the app's signing certificate.
const AndroidOriginPrefix = "android:apk-key-hash:"

// Fingerprint is the SHA-256 of an Android app's signing certificate.
type Fingerprint [sha256.Size]byte

// ParseFingerprint reads a fingerprint in the colon-separated hex form the
// Play Console and keytool show: 32 bytes, two hex digits each, upper or
// lower case, such as "AB:CD:…". The error, phrased to follow the quoted
// value, says what is wrong.
func ParseFingerprint(s string) (Fingerprint, error) {
	var f Fingerprint
	parts := strings.Split(s, ":")
	if len(parts) != sha256.Size {
		return f, errors.New("is not a SHA-256 fingerprint: want 32 colon-separated hex bytes (AB:CD:…, as the Play Console shows)")
	}
	for i, p := range parts {
		if len(p) != 2 {
			return f, errors.New("is not a SHA-256 fingerprint: want 32 colon-separated hex bytes (AB:CD:…, as the Play Console shows)")
		}
		b, err := hex.DecodeString(p)
		if err != nil {
			return f, errors.New("is not a SHA-256 fingerprint: want 32 colon-separated hex bytes (AB:CD:…, as the Play Console shows)")
		}
		f[i] = b[0]
	}
	return f, nil
}

// String is the fingerprint in the form assetlinks.json uses: upper-case
// hex bytes separated by colons.
func (f Fingerprint) String() string {
	var b strings.Builder
	for i, c := range f {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}

// Origin is the origin an app signed with this certificate has in
// clientDataJSON: "android:apk-key-hash:" and the unpadded base64url of
// the fingerprint.
func (f Fingerprint) Origin() string {
	return AndroidOriginPrefix + base64.RawURLEncoding.EncodeToString(f[:])
}

// CheckPackageName returns nil when s is an Android application ID: at
// least two segments separated by dots, each starting with an ASCII
// letter and holding only ASCII letters, digits and underscores, such as
// "com.example.app".
func CheckPackageName(s string) error {
	segs := strings.Split(s, ".")
	if len(segs) < 2 {
		return errors.New("is not an Android package name: want at least two dot-separated segments, such as com.example.app")
	}
	for _, seg := range segs {
		if seg == "" || !isLetter(seg[0]) {
			return errors.New("is not an Android package name: each dot-separated segment must start with a letter (com.example.app)")
		}
		for i := 0; i < len(seg); i++ {
			if c := seg[i]; !isLetter(c) && !isDigit(c) && c != '_' {
				return errors.New("is not an Android package name: only letters, digits and underscores between the dots (com.example.app)")
			}
		}
	}
	return nil
}

// CheckAppleAppID returns nil when s is an Apple app ID: a team ID of 10
// upper-case letters and digits, a dot, and a bundle ID of letters,
// digits, hyphens and dots, such as "ABCDE12345.com.example.app".
func CheckAppleAppID(s string) error {
	const form = "is not an Apple app ID: want TEAMID.bundle.id, a 10-character upper-case alphanumeric team ID, a dot and the bundle ID (ABCDE12345.com.example.app)"
	team, bundle, ok := strings.Cut(s, ".")
	if !ok || len(team) != 10 || bundle == "" {
		return errors.New(form)
	}
	for i := 0; i < len(team); i++ {
		if c := team[i]; !isDigit(c) && (c < 'A' || c > 'Z') {
			return errors.New(form)
		}
	}
	if strings.HasPrefix(bundle, ".") || strings.HasSuffix(bundle, ".") || strings.Contains(bundle, "..") {
		return errors.New(form)
	}
	for i := 0; i < len(bundle); i++ {
		if c := bundle[i]; !isLetter(c) && !isDigit(c) && c != '-' && c != '.' {
			return errors.New(form)
		}
	}
	return nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// AndroidApp is an Android app allowed to use the relying party's
// passkeys: its package name and the SHA-256 fingerprints of the
// certificates it is signed with (more than one while a signing key is
// rotated, or for a debug and a release build).
type AndroidApp struct {
	// PackageName is the app's application ID, such as "com.example.app".
	PackageName string
	// Fingerprints are the SHA-256 fingerprints of its signing
	// certificates in the colon-separated hex form the Play Console shows
	// ("AB:CD:…", 32 bytes). At least one.
	Fingerprints []string
}

// looksLikeOrigin reports whether s is written as an origin rather than
// as an app identity.
func looksLikeOrigin(s string) bool {
	return strings.Contains(s, "://") || strings.HasPrefix(s, AndroidOriginPrefix)
}

// CheckAndroidApps validates apps, naming the bad entry after field (such
// as "selfhosted: Config.AndroidApps"), and returns every app's
// fingerprints parsed, in order.
func CheckAndroidApps(field string, apps []AndroidApp) ([][]Fingerprint, error) {
	out := make([][]Fingerprint, len(apps))
	seen := map[string]bool{}
	for i, a := range apps {
		if looksLikeOrigin(a.PackageName) {
			return nil, fmt.Errorf("%s[%d].PackageName %q is an origin: give the app's package name (com.example.app) and its certificate fingerprints; the android:apk-key-hash: origin is derived from them", field, i, a.PackageName)
		}
		if err := CheckPackageName(a.PackageName); err != nil {
			return nil, fmt.Errorf("%s[%d].PackageName %q %s", field, i, a.PackageName, err)
		}
		if seen[a.PackageName] {
			return nil, fmt.Errorf("%s[%d].PackageName %q is listed twice: give one entry with all its fingerprints", field, i, a.PackageName)
		}
		seen[a.PackageName] = true
		if len(a.Fingerprints) == 0 {
			return nil, fmt.Errorf("%s[%d].Fingerprints is empty: give the SHA-256 fingerprint of at least one signing certificate (AB:CD:…, 32 bytes)", field, i)
		}
		for j, s := range a.Fingerprints {
			if looksLikeOrigin(s) {
				return nil, fmt.Errorf("%s[%d].Fingerprints[%d] %q is an origin: give the certificate's SHA-256 fingerprint (AB:CD:…, 32 bytes) as the Play Console shows it", field, i, j, s)
			}
			f, err := ParseFingerprint(s)
			if err != nil {
				return nil, fmt.Errorf("%s[%d].Fingerprints[%d] %q %s", field, i, j, s, err)
			}
			out[i] = append(out[i], f)
		}
	}
	return out, nil
}

// CheckAppleAppIDs validates ids, naming the bad entry after field.
func CheckAppleAppIDs(field string, ids []string) error {
	seen := map[string]bool{}
	for i, id := range ids {
		if looksLikeOrigin(id) {
			return fmt.Errorf("%s[%d] %q is an origin: give the app ID, TEAMID.bundle.id (ABCDE12345.com.example.app); iOS apps use the relying party's web origin", field, i, id)
		}
		if err := CheckAppleAppID(id); err != nil {
			return fmt.Errorf("%s[%d] %q %s", field, i, id, err)
		}
		if seen[id] {
			return fmt.Errorf("%s[%d] %q is listed twice", field, i, id)
		}
		seen[id] = true
	}
	return nil
}

// CheckRelatedOrigins validates related origins, naming the bad entry
// after field: each must be a web origin written as browsers serialise
// it, https (http only on this machine: localhost, 127/8, [::1]), and not
// listed twice. An app's "android:apk-key-hash:" origin is refused with a
// pointer to the app list. The self-hosted engine adds its own checks (not
// on its RP ID, at most five registrable domains).
func CheckRelatedOrigins(field string, origins []string) error {
	seen := map[string]bool{}
	for i, o := range origins {
		if strings.HasPrefix(o, AndroidOriginPrefix) {
			return fmt.Errorf("%s[%d] %q is an Android app's origin: list the app (package name and certificate fingerprint) with the Android apps instead", field, i, o)
		}
		if err := weborigin.CheckWeb(o); err != nil {
			return fmt.Errorf("%s[%d] %q %s", field, i, o, err)
		}
		if strings.HasPrefix(o, "http://") && !weborigin.IsLoopbackHTTP(o) {
			return fmt.Errorf("%s[%d] %q must use https (http only for localhost)", field, i, o)
		}
		if seen[o] {
			return fmt.Errorf("%s[%d] %q is listed twice", field, i, o)
		}
		seen[o] = true
	}
	return nil
}

// ParseAndroidAppFlags reads the values of a repeatable command-line flag
// (named flag, such as "-android-app") of the form PACKAGE:FINGERPRINT,
// one certificate each, and merges the fingerprints of one package into
// one app, in the order given. Errors quote the value and name the flag.
// The commands of examples/ share it.
func ParseAndroidAppFlags(flag string, values []string) ([]AndroidApp, error) {
	var apps []AndroidApp
	index := map[string]int{}
	for _, v := range values {
		pkg, fp, ok := strings.Cut(v, ":")
		if !ok || strings.Contains(v, "://") {
			return nil, fmt.Errorf("%s %q must be PACKAGE:FINGERPRINT, such as com.example.app:AB:CD:… (the SHA-256 signing-certificate fingerprint the Play Console shows)", flag, v)
		}
		if err := CheckPackageName(pkg); err != nil {
			return nil, fmt.Errorf("%s %q: package %q %s", flag, v, pkg, err)
		}
		if _, err := ParseFingerprint(fp); err != nil {
			return nil, fmt.Errorf("%s %q: fingerprint %q %s", flag, v, fp, err)
		}
		i, seen := index[pkg]
		if !seen {
			i = len(apps)
			index[pkg] = i
			apps = append(apps, AndroidApp{PackageName: pkg})
		}
		apps[i].Fingerprints = append(apps[i].Fingerprints, fp)
	}
	return apps, nil
}
