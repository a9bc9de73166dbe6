// Package storetest is the conformance suite for [selfhosted.Store]
// implementations. A store conforms when
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) selfhosted.Store { return mystore.New() })
//	}
//
// passes. Run calls newStore once per subtest; each call must return an
// empty store that no other subtest sees. newStore may register clean-up
// with t.Cleanup and stop the test with t.Fatal.
//
// The suite feeds only UTC times truncated to the microsecond and expects
// them back equal at that precision. Expiry is driven by the times it passes
// to PutCeremony, TakeCeremony, PutOTP and ReserveOTPAttempt, never by
// sleeping; the expiry times it stores lie in the future of the wall clock,
// so a store that also expires records by its own clock is not disturbed.
// Credentials are only added for users created beforehand.
//
// The methods of a Store cannot tell what it still holds, so whether
// PutCeremony and PutOTP purge is checked only through a [Harness] whose
// Count hook counts a store's rows:
//
//	storetest.RunHarness(t, storetest.Harness{NewStore: newStore, Count: count})
//
// The optional [selfhosted.UserByIDStore] and
// [selfhosted.CredentialByIDStore] are checked when a store implements
// them; a store without them is read through UserWithCredentials and
// CredentialsByUser instead.
// The optional [selfhosted.CeremonyWithUserStore] is checked under
// CeremonyWithUser when a store implements it, and
// [selfhosted.CeremonyWithHandleUserStore] under CeremonyWithHandleUser.
// The optional [selfhosted.SessionStore] is checked when a store
// implements it, with its expiries driven by the times the suite passes. The optional [selfhosted.AccountStore]
// (DeleteUser, UpdateUserEmail) is checked under Accounts when a store
// implements it. The optional [selfhosted.ActivityStore] (the audit
// trail) is checked under Activity when a store implements it, and
// under Accounts its records go with DeleteUser.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// Run runs the conformance suite against the stores newStore returns.
// Every violation is reported with t.Errorf; a subtest stops early only
// when the data it needs cannot be stored. It is RunHarness with no hooks
// but NewStore.
func Run(t *testing.T, newStore func(t *testing.T) selfhosted.Store) {
	RunHarness(t, Harness{NewStore: newStore})
}

// Harness is what [RunHarness] needs of a store's package: a constructor,
// and optional hooks into what only the store's own package can see. A
// nil hook skips the checks that need it. New hooks may be added as
// fields; a Harness written today keeps compiling.
type Harness struct {
	// NewStore returns an empty store that no other subtest sees. Required.
	// It may register clean-up with t.Cleanup and stop the test with
	// t.Fatal.
	NewStore func(t *testing.T) selfhosted.Store

	// Count returns how many records of the kind s holds, live, expired and
	// used alike: the rows of its ceremonies or one-time-code table, or,
	// for a store that implements [selfhosted.SessionStore], of its
	// sessions table ([Sessions]). With it the suite checks, under Purge,
	// what the shipped stores do: that PutCeremony purges abandoned
	// ceremonies so that they cannot accumulate, that TakeCeremony leaves
	// an expired ceremony for PutCeremony to purge, and that PutOTP purges
	// expired codes; and, under Sessions/Purge, that CreateSession purges
	// expired sessions.
	Count func(t *testing.T, s selfhosted.Store, kind Kind) int

	// PurgeEvery and PurgeLimit, when both are positive and Count is set,
	// state a store's purge rate: PutCeremony purges on the first of every
	// PurgeEvery calls, counted from the store's creation, deleting up to
	// PurgeLimit expired ceremonies; and CreateSession, of a store that
	// implements [selfhosted.SessionStore], purges sessions at the same
	// rate. The suite checks these exact numbers.
	PurgeEvery, PurgeLimit int
}

// Kind names the records a [Harness] Count counts.
type Kind string

// The kinds of records Count counts.
const (
	Ceremonies Kind = "ceremonies"
	OTPs       Kind = "otps"
)

// RunHarness runs the conformance suite against the stores h.NewStore
// returns, and the checks whose hooks h sets. Every violation is reported
// with t.Errorf.
func RunHarness(t *testing.T, h Harness) {
	if h.NewStore == nil {
		t.Fatal("storetest: Harness.NewStore is required")
	}
	newStore := h.NewStore
	t.Run("Users", func(t *testing.T) { testUsers(t, newStore) })
	t.Run("Credentials", func(t *testing.T) { testCredentials(t, newStore) })
	t.Run("Rename", func(t *testing.T) { testRename(t, newStore) })
	t.Run("UserWithCredentials", func(t *testing.T) { testUserWithCredentials(t, newStore) })
	t.Run("Ceremonies", func(t *testing.T) { testCeremonies(t, newStore) })
	t.Run("CeremonyWithUser", func(t *testing.T) { testCeremonyWithUser(t, newStore) })
	t.Run("CeremonyWithHandleUser", func(t *testing.T) { testCeremonyWithHandleUser(t, newStore) })
	t.Run("OTPs", func(t *testing.T) { testOTPs(t, newStore) })
	t.Run("Races", func(t *testing.T) { testRaces(t, newStore) })
	t.Run("CancelledContext", func(t *testing.T) { testCancelledContext(t, newStore) })
	t.Run("Purge", func(t *testing.T) { testPurge(t, h) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, h) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, newStore) })
	t.Run("Activity", func(t *testing.T) { testActivity(t, h) })
}

// newStoreFunc is the constructor Run receives.
type newStoreFunc = func(t *testing.T) selfhosted.Store

// anchor returns the reference time of a subtest: the wall clock in UTC,
// truncated to the microsecond.
func anchor() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// user returns the n-th fixture user.
func user(n int, created time.Time) selfhosted.UserRecord {
	return selfhosted.UserRecord{
		ID:        fmt.Sprintf("user-%d", n),
		Email:     fmt.Sprintf("user%d@example.com", n),
		Handle:    handle(n),
		CreatedAt: created,
	}
}

// handle returns a 32-byte user handle, distinct for each n below 256, that
// starts and ends with a zero byte and holds bytes above 0x7f.
func handle(n int) []byte {
	h := make([]byte, 32)
	for i := range h {
		h[i] = byte(n*31 + i*97)
	}
	h[0], h[1], h[len(h)-1] = 0, 0xff, 0
	return h
}

// credential returns a fixture credential of userID with Data that is
// neither valid UTF-8 nor free of zero bytes.
func credential(id []byte, userID string, created time.Time) selfhosted.CredentialRecord {
	data := append([]byte(`{"id":"`), 0x00, 0xc3, 0x28, 0xff)
	data = append(data, id...)
	data = append(data, '"', '}', 0x00)
	return selfhosted.CredentialRecord{
		ID:        id,
		UserID:    userID,
		Name:      fmt.Sprintf("key %x", id),
		Data:      data,
		SignCount: 7,
		CreatedAt: created,
	}
}

// ceremony returns a fixture ceremony whose Session holds zero bytes.
func ceremony(challenge string, kind selfhosted.CeremonyKind, userID string, expires time.Time) selfhosted.Ceremony {
	return selfhosted.Ceremony{
		Challenge: challenge,
		Kind:      kind,
		UserID:    userID,
		Session:   append([]byte(`{"challenge":"`+challenge+`"}`), 0x00, 0xff, 0x00),
		ExpiresAt: expires,
	}
}

// otp returns a fixture code for email created at created and live for ten
// minutes; seed varies its 32-byte Hash, which holds zero bytes.
func otp(email string, seed byte, created time.Time) selfhosted.OTPRecord {
	hash := make([]byte, 32)
	for i := range hash {
		hash[i] = seed + byte(i*53)
	}
	hash[0], hash[len(hash)-1] = 0, 0
	return selfhosted.OTPRecord{
		Email:     email,
		Hash:      hash,
		CreatedAt: created,
		ExpiresAt: created.Add(10 * time.Minute),
	}
}

// setup stops the test when err, from storing the data a check needs, is
// not nil.
func setup(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("setup: %s: %v", call, err)
	}
}

// wantErr reports a violation unless err matches want: nil for success,
// otherwise a sentinel checked with errors.Is.
func wantErr(t *testing.T, call string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error: %v", call, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error = %v, want %v", call, err, want)
	}
}

// wantValue reports a violation unless the call succeeded with want. Values
// are compared through show, which renders every field.
func wantValue[T any](t *testing.T, call string, show func(T) string, want, got T, err error) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: unexpected error: %v", call, err)
		return
	}
	if g, w := show(got), show(want); g != w {
		t.Errorf("%s returned\n\t%s\nwant\n\t%s", call, g, w)
	}
}

func showTime(t time.Time) string {
	return t.Truncate(time.Microsecond).UTC().Format(time.RFC3339Nano)
}

func showUser(u selfhosted.UserRecord) string {
	return fmt.Sprintf("{ID:%q Email:%q Handle:%x CreatedAt:%s}", u.ID, u.Email, u.Handle, showTime(u.CreatedAt))
}

func showCredential(c selfhosted.CredentialRecord) string {
	return fmt.Sprintf("{ID:%x UserID:%q Name:%q Data:%x SignCount:%d BackupState:%t CreatedAt:%s LastUsedAt:%s}",
		c.ID, c.UserID, c.Name, c.Data, c.SignCount, c.BackupState, showTime(c.CreatedAt), showTime(c.LastUsedAt))
}

func showCredentials(cs []selfhosted.CredentialRecord) string {
	if cs == nil {
		return "nil"
	}
	lines := make([]string, len(cs))
	for i, c := range cs {
		lines[i] = showCredential(c)
	}
	return "[" + strings.Join(lines, "\n\t ") + "]"
}

func showCeremony(c selfhosted.Ceremony) string {
	return fmt.Sprintf("{Challenge:%q Kind:%q UserID:%q Session:%x ExpiresAt:%s}",
		c.Challenge, c.Kind, c.UserID, c.Session, showTime(c.ExpiresAt))
}

func showOTP(o selfhosted.OTPRecord) string {
	return fmt.Sprintf("{Email:%q Hash:%x CreatedAt:%s ExpiresAt:%s Attempts:%d}",
		o.Email, o.Hash, showTime(o.CreatedAt), showTime(o.ExpiresAt), o.Attempts)
}

// cloneCredential returns c with its own copies of the byte slices.
func cloneCredential(c selfhosted.CredentialRecord) selfhosted.CredentialRecord {
	c.ID, c.Data = bytes.Clone(c.ID), bytes.Clone(c.Data)
	return c
}
