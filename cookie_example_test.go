package passkeys_test

import (
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/passkeystest"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// With Options.Cookie the login answers set an HttpOnly session cookie and
// carry no token; a forged request from another site that would use the
// cookie is refused.
func ExampleCookieOptions() {
	mail := passkeystest.NewMailbox() // stands in for your email delivery
	engine, err := selfhosted.New(selfhosted.Config{
		RPID: "example.com", Origins: []string{"https://example.com"},
		Store: memstore.New(), OTPSender: mail,
	})
	if err != nil {
		log.Fatal(err)
	}
	h, err := passkeys.New(passkeys.Options{
		Backend: engine,
		JWTKey:  []byte("an example key of at least 32 bytes"),
		Cookie:  &passkeys.CookieOptions{Origins: []string{"https://example.com"}},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		log.Fatal(err)
	}
	post := func(path, body, origin string, c *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", origin) // as a browser sets it
		if c != nil {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	post("/signUpOrLogin", `{"email":"ada@example.com"}`, "https://example.com", nil)
	code, _ := mail.Last("ada@example.com")
	rec := post("/signUpOrLogin", `{"email":"ada@example.com","otp":"`+code+`"}`, "https://example.com", nil)
	c := rec.Result().Cookies()[0]
	fmt.Println(rec.Code, c.Name, "HttpOnly:", c.HttpOnly, "Secure:", c.Secure, "Max-Age:", c.MaxAge)
	fmt.Println("token in the body:", strings.Contains(rec.Body.String(), "sessionToken"))

	rec = post("/passkey/append/start", `{}`, "https://evil.example", c)
	fmt.Println(rec.Code, strings.Contains(rec.Body.String(), `"code":"cross_origin_request"`))
	rec = post("/passkey/append/start", `{}`, "https://example.com", c)
	fmt.Println(rec.Code)
	// Output:
	// 200 passkeys_session HttpOnly: true Secure: true Max-Age: 3600
	// token in the body: false
	// 403 true
	// 200
}
