package passkeys_test

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/passkeyready/passkeys"
	"github.com/passkeyready/passkeys/selfhosted"
	"github.com/passkeyready/passkeys/selfhosted/memstore"
)

// GET account/activity lists the caller's own recorded events, newest
// first, with the client that caused them; another user sees none of
// them, and a server without a lister answers 404.
func TestAccountActivity(t *testing.T) {
	trail := selfhosted.NewActivitySink(memstore.New(), nil)
	r := newHTTPRig(t, rigOptions{tweak: func(o *passkeys.Options) {
		o.Events = trail
		o.Activity = trail
	}})
	ann := r.signIn("ann@example.com", uaLaptop)
	r.clock.Advance(1e9)
	pk, err := r.client(uaPhone).AppendPasskey(t.Context(), ann.Token)
	if err != nil {
		t.Fatal(err)
	}
	bob := r.signIn("bob@example.com", uaLaptop)
	if err := r.h.FlushEvents(t.Context()); err != nil {
		t.Fatal(err)
	}

	p := r.do(http.MethodGet, "/auth/account/activity", ann.Token, "")
	wantStatus(t, "GET account/activity", p, http.StatusOK)
	list, _ := p.json(t)["activity"].([]any)
	var kinds []string
	for _, a := range list {
		kinds = append(kinds, a.(map[string]any)["kind"].(string))
	}
	if want := []string{"passkey_added", "login", "sign_up"}; len(kinds) != len(want) || kinds[0] != want[0] || kinds[1] != want[1] || kinds[2] != want[2] {
		t.Fatalf("ann's activity kinds = %v, want %v", kinds, want)
	}
	added := list[0].(map[string]any)
	if added["userAgent"] != uaPhone || added["detail"] != pk.Name || added["ip"] == "" {
		t.Errorf("passkey_added = %v; want the phone's user agent, the passkey's name %q and an IP", added, pk.Name)
	}
	if login := list[1].(map[string]any); login["method"] != "otp" || login["userAgent"] != uaLaptop {
		t.Errorf("login = %v; want method otp from the laptop", login)
	}
	bobs, _ := r.do(http.MethodGet, "/auth/account/activity", bob.Token, "").json(t)["activity"].([]any)
	if len(bobs) != 2 {
		t.Errorf("bob's activity = %v, want his sign_up and login only", bobs)
	}
	wantProblem(t, "without a token", r.do(http.MethodGet, "/auth/account/activity", "", ""), http.StatusUnauthorized, "unauthorized")

	plain := newHTTPRig(t, rigOptions{})
	s := plain.signIn("ann@example.com", uaLaptop)
	wantProblem(t, "without a lister", plain.do(http.MethodGet, "/auth/account/activity", s.Token, ""), http.StatusNotFound, "not_found")
}

// TestClientTypesActivityKinds holds client.d.ts's Activity.kind comment to
// selfhosted.ActivityKinds: it names exactly the kinds the shipped sink
// records.
func TestClientTypesActivityKinds(t *testing.T) {
	src, err := os.ReadFile("client.d.ts")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(src), "export interface Activity {")
	line, _, _ := strings.Cut(rest, "kind: string;")
	_, list, ok2 := strings.Cut(line, "one of ")
	list, _, ok3 := strings.Cut(list, " (selfhosted.ActivityKinds)")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("client.d.ts: no Activity.kind comment listing selfhosted.ActivityKinds in %q", line)
	}
	var want []string
	for _, k := range selfhosted.ActivityKinds {
		want = append(want, string(k))
	}
	got := strings.Split(list, ", ")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("client.d.ts Activity.kind names %v; selfhosted.ActivityKinds is %v", got, want)
	}
}
