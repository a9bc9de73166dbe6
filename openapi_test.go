package passkeys

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestOpenAPIRoutes fails when a route of the handler is missing from
// openapi.json, or the document describes a path or method the handler
// does not route.
func TestOpenAPIRoutes(t *testing.T) {
	h, err := New(Options{Backend: struct{ Backend }{}, JWTKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi.json is OpenAPI %q, want 3.1.x", doc.OpenAPI)
	}
	routed := map[string][]string{}
	for path, methods := range h.routes {
		for m := range methods {
			routed[path] = append(routed[path], strings.ToLower(m))
		}
		slices.Sort(routed[path])
	}
	described := map[string][]string{}
	for path, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				described[path] = append(described[path], m)
			}
		}
		slices.Sort(described[path])
	}
	for _, path := range slices.Sorted(maps.Keys(routed)) {
		if !slices.Equal(routed[path], described[path]) {
			t.Errorf("route %s: the handler serves %v, openapi.json describes %v", path, routed[path], described[path])
		}
	}
	for _, path := range slices.Sorted(maps.Keys(described)) {
		if _, ok := routed[path]; !ok {
			t.Errorf("openapi.json describes %s %v, which the handler does not route", path, described[path])
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	h, err := New(Options{Backend: struct{ Backend }{}, JWTKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	get := func(hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/openapi.json", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	w := get()
	etag := w.Header().Get("ETag")
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || !bytes.Equal(w.Body.Bytes(), OpenAPI()) {
		t.Fatalf("GET openapi.json: %d %q, %d bytes; want 200 application/json with the document", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
	if !strings.HasPrefix(etag, `"`) || len(etag) < 10 || !strings.Contains(w.Header().Get("Cache-Control"), "max-age=") ||
		w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET openapi.json headers: %v", w.Header())
	}
	for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
		if w := get("If-None-Match", inm); w.Code != http.StatusNotModified || w.Body.Len() != 0 || w.Header().Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d with %d bytes, want 304 and no body", inm, w.Code, w.Body.Len())
		}
	}
	if w := get("If-None-Match", `"other"`); w.Code != 200 {
		t.Errorf("If-None-Match of another ETag: %d, want 200", w.Code)
	}
	r := httptest.NewRequest(http.MethodPost, "/openapi.json", strings.NewReader("{}"))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST openapi.json: %d Allow %q, want 405 Allow GET, HEAD", w.Code, w.Header().Get("Allow"))
	}
	// The copy is the caller's.
	OpenAPI()[0] = 'x'
	if OpenAPI()[0] != '{' {
		t.Error("OpenAPI returned the package's own bytes")
	}
}

// TestOpenAPIErrorCodes fails when an error code of the package or of the
// self-hosted engine, which answers through the same handler (the Code of
// an Error literal in their source), is missing from openapi.json's
// ErrorCode, or ErrorCode or a Problem_<code> schema names one neither
// has.
func TestOpenAPIErrorCodes(t *testing.T) {
	fset := token.NewFileSet()
	notTest := func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }
	pkgs, err := parser.ParseDir(fset, ".", notTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := parser.ParseDir(fset, "selfhosted", notTest, 0)
	if err != nil {
		t.Fatal(err)
	}
	files := slices.Collect(maps.Values(pkgs["passkeys"].Files))
	if len(engine["selfhosted"].Files) == 0 {
		t.Fatal("found no source files of selfhosted")
	}
	files = slices.AppendSeq(files, maps.Values(engine["selfhosted"].Files))
	inSource := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			switch typ := lit.Type.(type) {
			case *ast.Ident: // Error, in package passkeys
				if typ.Name != "Error" {
					return true
				}
			case *ast.SelectorExpr: // passkeys.Error, in selfhosted
				if x, ok := typ.X.(*ast.Ident); !ok || x.Name != "passkeys" || typ.Sel.Name != "Error" {
					return true
				}
			default:
				return true
			}
			for _, e := range lit.Elts {
				kv, ok := e.(*ast.KeyValueExpr)
				if !ok {
					continue
				}
				if key, ok := kv.Key.(*ast.Ident); !ok || key.Name != "Code" {
					continue
				}
				if v, ok := kv.Value.(*ast.BasicLit); ok && v.Kind == token.STRING {
					code, _ := strconv.Unquote(v.Value)
					inSource[code] = true
				}
			}
			return true
		})
	}
	if len(inSource) < 10 {
		t.Fatalf("found only %d error codes in the source: %v", len(inSource), inSource)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Enum []string `json:"enum"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	enum := map[string]bool{}
	for _, c := range doc.Components.Schemas["ErrorCode"].Enum {
		enum[c] = true
	}
	for name := range doc.Components.Schemas {
		if code, ok := strings.CutPrefix(name, "Problem_"); ok && !inSource[code] {
			t.Errorf("openapi.json has a schema %s, but the package has no error %q", name, code)
		}
	}
	for _, code := range slices.Sorted(maps.Keys(inSource)) {
		if !enum[code] {
			t.Errorf("error code %q is not in openapi.json's ErrorCode", code)
		}
		if _, ok := doc.Components.Schemas["Problem_"+code]; !ok {
			t.Errorf("error code %q has no Problem_%s schema in openapi.json", code, code)
		}
	}
	for _, code := range slices.Sorted(maps.Keys(enum)) {
		if !inSource[code] {
			t.Errorf("openapi.json's ErrorCode names %q, which the package does not have", code)
		}
	}
}
