package passkeys

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/passkeyready/passkeys/internal/nativeapp"
)

// AndroidApp is an Android app allowed to use the relying party's
// passkeys: its PackageName ("com.example.app") and the SHA-256
// Fingerprints of the certificates it is signed with, in the
// colon-separated hex form the Play Console shows ("AB:CD:…", 32 bytes;
// more than one while a signing key is rotated, or for a debug and a
// release build). The self-hosted engine accepts the
// "android:apk-key-hash:" origin of each fingerprint; [WellKnown] lists the
// app in assetlinks.json.
type AndroidApp = nativeapp.AndroidApp

// WellKnownOptions configures [WellKnown]: the documents a native app's
// operating system and a browser fetch from the relying party's host
// before they let an app or another site use its passkeys. A list left
// empty serves 404 for its document. The self-hosted engine's
// Engine.WellKnown returns these from its own Config, so the documents
// and the origins it accepts never disagree.
type WellKnownOptions struct {
	// AndroidApps become /.well-known/assetlinks.json: one statement per
	// app granting delegate_permission/common.handle_all_urls and
	// delegate_permission/common.get_login_creds to its package name and
	// fingerprints.
	AndroidApps []AndroidApp
	// AppleAppIDs ("TEAMID.bundle.id": a 10-character upper-case
	// alphanumeric team ID, a dot, the bundle ID) become the
	// webcredentials.apps of /.well-known/apple-app-site-association.
	AppleAppIDs []string
	// RelatedOrigins are web origins on other sites (https://example.org)
	// allowed to use this RP ID's passkeys; they become the origins of
	// /.well-known/webauthn (WebAuthn Related Origin Requests). Written as
	// browsers serialise them, like every configured origin.
	RelatedOrigins []string
	// MaxAge is the Cache-Control max-age of the documents. Default 1
	// hour.
	MaxAge time.Duration
	// Logger receives a debug line per refused request. Default
	// slog.Default().
	Logger *slog.Logger
}

// Paths of the documents [WellKnown] serves.
const (
	WellKnownAssetLinks = "/.well-known/assetlinks.json"
	WellKnownAppleAppSA = "/.well-known/apple-app-site-association"
	WellKnownWebAuthn   = "/.well-known/webauthn"
)

// WellKnown returns a handler of the well-known documents of opts:
// /.well-known/assetlinks.json (Android), /.well-known/apple-app-site-association
// (iOS webcredentials) and /.well-known/webauthn (related origins). Mount
// it at the root of the RP ID's host, apart from the API handler, for
// example mux.Handle("/.well-known/", wk): Android, iOS and browsers fetch
// these exact paths there, over https, and follow no redirect.
//
// Each document is JSON (application/json, the Apple one too, which has
// no extension), answers GET and HEAD only (405 otherwise), and may be
// cached for MaxAge, with an ETag that a conditional request is answered
// 304 with. A document whose list is empty, and any other path, is 404;
// every refusal is application/problem+json.
//
// With the Corbado backend, the documents come from the same options as
// well, but Corbado checks the origin of each passkey response itself:
// its project's native-app settings (Android apps and their fingerprints,
// iOS app IDs) must list the same apps.
//
// The error names the bad field and the form it expects.
func WellKnown(opts WellKnownOptions) (http.Handler, error) {
	fps, err := nativeapp.CheckAndroidApps("passkeys: WellKnownOptions.AndroidApps", opts.AndroidApps)
	if err != nil {
		return nil, err
	}
	if err := nativeapp.CheckAppleAppIDs("passkeys: WellKnownOptions.AppleAppIDs", opts.AppleAppIDs); err != nil {
		return nil, err
	}
	if err := nativeapp.CheckRelatedOrigins("passkeys: WellKnownOptions.RelatedOrigins", opts.RelatedOrigins); err != nil {
		return nil, err
	}
	if opts.MaxAge < 0 {
		return nil, fmt.Errorf("passkeys: WellKnownOptions.MaxAge must not be negative")
	}
	if opts.MaxAge == 0 {
		opts.MaxAge = time.Hour
	}
	wk := &wellKnown{
		docs:   map[string]wellKnownDoc{},
		cache:  fmt.Sprintf("public, max-age=%d", int64(opts.MaxAge/time.Second)),
		errors: &errorWriter{logger: opts.Logger},
	}
	if len(opts.AndroidApps) > 0 {
		type target struct {
			Namespace    string   `json:"namespace"`
			PackageName  string   `json:"package_name"`
			Fingerprints []string `json:"sha256_cert_fingerprints"`
		}
		type statement struct {
			Relation []string `json:"relation"`
			Target   target   `json:"target"`
		}
		var doc []statement
		for i, a := range opts.AndroidApps {
			t := target{Namespace: "android_app", PackageName: a.PackageName}
			for _, f := range fps[i] {
				t.Fingerprints = append(t.Fingerprints, f.String())
			}
			doc = append(doc, statement{
				Relation: []string{"delegate_permission/common.handle_all_urls", "delegate_permission/common.get_login_creds"},
				Target:   t,
			})
		}
		wk.add(WellKnownAssetLinks, doc)
	}
	if len(opts.AppleAppIDs) > 0 {
		wk.add(WellKnownAppleAppSA, map[string]any{"webcredentials": map[string]any{"apps": opts.AppleAppIDs}})
	}
	if len(opts.RelatedOrigins) > 0 {
		wk.add(WellKnownWebAuthn, map[string]any{"origins": opts.RelatedOrigins})
	}
	return wk, nil
}

type wellKnownDoc struct {
	body []byte
	etag string
}

type wellKnown struct {
	docs   map[string]wellKnownDoc
	cache  string
	errors *errorWriter
}

func (wk *wellKnown) add(path string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic("passkeys: well-known document: " + err.Error()) // only strings and slices of them
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	wk.docs[path] = wellKnownDoc{body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
}

func (wk *wellKnown) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	doc, ok := wk.docs[r.URL.Path]
	if !ok {
		detail := "No well-known document at this path: served are " + WellKnownAssetLinks + ", " + WellKnownAppleAppSA + " and " + WellKnownWebAuthn + ", at the root of the RP ID's host."
		switch r.URL.Path {
		case WellKnownAssetLinks, WellKnownAppleAppSA, WellKnownWebAuthn:
			detail = "Nothing is configured for this well-known document."
		}
		wk.errors.writeAt(w, r, ErrNotFound.With(detail, nil), slog.LevelDebug)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		wk.errors.writeAt(w, r, ErrMethodNotAllowed, slog.LevelDebug)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", wk.cache)
	hdr.Set("ETag", doc.etag)
	if etagMatches(r.Header.Get("If-None-Match"), doc.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Length", fmt.Sprint(len(doc.body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(doc.body)
	}
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, RFC 9110 §13.1.2) or is "*".
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
