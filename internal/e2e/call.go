package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Reply is an HTTP answer read whole.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// Call sends one request to url through client (http.DefaultClient when
// nil) and reads the answer whole; a request that cannot be built, sent or
// read fails t. It is the one raw-request helper of the module's HTTP
// tests: the suite's, the engine's, the Corbado fault tests' and the
// example server's probes.
//
// body nil (or a nil []byte) sends none; a string or []byte is sent as it
// is, anything else as its JSON. A body goes with Content-Type
// application/json, a token as a bearer token, and header holds name,
// value pairs set after those (an empty value deletes the header).
func Call(t testing.TB, client *http.Client, method, url string, body any, token string, header ...string) Reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		if b != nil {
			rd = bytes.NewReader(b)
		}
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return Reply{Status: res.StatusCode, Header: res.Header, Body: raw}
}
