package passkeys

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 description of the handler's HTTP API,
// the file openapi.json of this module, which the handler serves at
// GET openapi.json: every endpoint, body, header and problem+json error.
// Its paths are relative to where the handler is mounted; its one server,
// /auth, is where examples/server mounts it. Each call returns a new copy.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// openAPIETag is the strong ETag of [OpenAPI]'s document.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPI)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// serveOpenAPI answers GET openapi.json: the document, cacheable and
// revalidated by its ETag (304 on a matching If-None-Match).
func (h *Handler) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("ETag", openAPIETag)
	hdr.Set("Cache-Control", "public, max-age=300, must-revalidate")
	if etagMatches(r.Header.Get("If-None-Match"), openAPIETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", "application/json")
	_, _ = w.Write(openAPI)
}
