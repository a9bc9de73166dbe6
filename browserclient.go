package passkeys

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
)

// The browser client: client.js, a dependency-free ES module that wraps
// the API's flows, and client.d.ts, its TypeScript declarations, both
// files of this module.
var (
	//go:embed client.js
	clientJS []byte
	//go:embed client.d.ts
	clientDTS []byte
)

// clientVersion is the hex of the first 16 bytes of client.js's SHA-256.
var clientVersion = func() string {
	sum := sha256.Sum256(clientJS)
	return hex.EncodeToString(sum[:16])
}()

// dtsVersion is the same for client.d.ts.
var dtsVersion = func() string {
	sum := sha256.Sum256(clientDTS)
	return hex.EncodeToString(sum[:16])
}()

// ClientVersion returns the content hash of the browser client module that
// the handler serves at GET client.js. A page that imports
// client.js?v=<ClientVersion()> gets it with Cache-Control immutable for a
// year; without that query (or with another value) the answer must be
// revalidated (no-cache), which its strong ETag makes a 304.
func ClientVersion() string { return clientVersion }

// ClientScript returns the browser client module, client.js, that the
// handler serves at GET client.js. Each call returns a new copy.
func ClientScript() []byte { return append([]byte(nil), clientJS...) }

// ClientTypes returns client.d.ts, the TypeScript declarations of
// [ClientScript], served at GET client.d.ts. Each call returns a new copy.
func ClientTypes() []byte { return append([]byte(nil), clientDTS...) }

func (h *Handler) serveClientJS(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, clientJS, clientVersion, "text/javascript; charset=utf-8")
}

func (h *Handler) serveClientDTS(w http.ResponseWriter, r *http.Request) {
	serveAsset(w, r, clientDTS, dtsVersion, "application/typescript; charset=utf-8")
}

// serveAsset answers GET for one embedded file: a strong ETag of its hash,
// 304 on a matching If-None-Match, immutable caching when the query v is
// the hash and revalidation (no-cache) otherwise.
func serveAsset(w http.ResponseWriter, r *http.Request, body []byte, version, contentType string) {
	hdr := w.Header()
	etag := `"` + version + `"`
	hdr.Set("ETag", etag)
	if r.URL.Query().Get("v") == version {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	hdr.Set("X-Content-Type-Options", "nosniff")
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", contentType)
	_, _ = w.Write(body)
}
