package passkeystest

import (
	"context"
	"testing"
	"time"
)

func TestMailboxMatchesTheCanonicalAddress(t *testing.T) {
	var m Mailbox
	// The handler sends to the canonical form: lower case, the domain in
	// its ASCII (punycode) form.
	if err := m.SendOTP(context.Background(), "jörg@xn--bcher-kva.de", "123456", time.Minute); err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{"jörg@xn--bcher-kva.de", "JÖRG@Bücher.de", " jörg@bücher.de "} {
		if got, ok := m.Last(typed); !ok || got != "123456" {
			t.Errorf("Last(%q) = %q, %v; want 123456, true", typed, got, ok)
		}
		if got := m.Codes(typed); len(got) != 1 {
			t.Errorf("Codes(%q) = %v, want one code", typed, got)
		}
	}
	if _, ok := m.Last("other@example.com"); ok {
		t.Error("Last found a code for an address nothing was sent to")
	}
}
