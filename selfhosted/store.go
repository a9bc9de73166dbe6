package selfhosted

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of the store contract. Implementations return them (or
// wrap them) so that callers can test with errors.Is.
var (
	// ErrNotFound means the record does not exist, has expired, or was
	// already consumed.
	ErrNotFound = errors.New("selfhosted: not found")
	// ErrDuplicate means a record with the same unique key exists; the
	// existing record is left unchanged.
	ErrDuplicate = errors.New("selfhosted: already exists")
	// ErrCounterRegressed means a login reported a signature counter that
	// did not advance past the stored one; nothing was written.
	ErrCounterRegressed = errors.New("selfhosted: signature counter did not advance")
)

// UserRecord is a stored account.
type UserRecord struct {
	// ID is the opaque, stable account identifier (the session subject).
	ID string
	// Email is normalised (trimmed, lower-case) and unique.
	Email string
	// Handle is the WebAuthn user handle: 32 to 64 random bytes, unique,
	// written once at creation and never changed.
	Handle    []byte
	CreatedAt time.Time
}

// UserKey selects a user by exactly one of its unique keys: ID, Email or
// Handle. The others stay empty.
type UserKey struct {
	ID     string
	Email  string
	Handle []byte
}

// Check returns an error unless exactly one of k's fields is set (not
// empty). Stores call it first and return its error, which is none of the
// contract's sentinels.
func (k UserKey) Check() error {
	set := 0
	for _, ok := range []bool{k.ID != "", k.Email != "", len(k.Handle) > 0} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return fmt.Errorf("selfhosted: UserKey sets %d of ID, Email and Handle, want exactly one", set)
	}
	return nil
}

// UserStore stores accounts. Its methods are called concurrently, from
// many requests at once, and must be safe for concurrent use.
type UserStore interface {
	// CreateUser stores u. It returns ErrDuplicate, and changes nothing,
	// when a user with the same ID, Email or Handle exists. Of concurrent
	// calls with the same ID, Email or Handle at most one succeeds.
	CreateUser(ctx context.Context, u UserRecord) error
	// UserByEmail returns the user with this (normalised) email, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (UserRecord, error)
	// UserWithCredentials returns the user k selects together with that
	// user's credentials, ordered as CredentialsByUser orders them (an
	// empty slice when there are none); it returns ErrNotFound when no
	// user matches. It is what every passkey ceremony reads first, so
	// stores on a database answer it in one round trip. It returns
	// k.Check's error, and reads nothing, for an invalid k.
	UserWithCredentials(ctx context.Context, k UserKey) (UserRecord, []CredentialRecord, error)
}

// CredentialRecord is a stored passkey.
type CredentialRecord struct {
	// ID is the credential ID; unique across all users.
	ID     []byte
	UserID string
	Name   string
	// Data is the credential record: go-webauthn's webauthn.Credential in
	// its MessagePack encoding, or as JSON, as earlier versions of the
	// engine wrote it. The engine reads both; earlier versions read only
	// JSON. Stores keep it whole and return it byte for byte.
	Data []byte
	// SignCount, BackupState and LastUsedAt change after each login; they
	// take precedence over the same values inside Data.
	SignCount   uint32
	BackupState bool
	CreatedAt   time.Time
	// LastUsedAt is the zero time until the first login.
	LastUsedAt time.Time
}

// CredentialUse is what a successful login writes back.
type CredentialUse struct {
	ID          []byte
	SignCount   uint32
	BackupState bool
	UsedAt      time.Time
}

// CredentialStore stores passkeys. Its methods must be safe for
// concurrent use.
type CredentialStore interface {
	// AddCredential stores c. It returns ErrDuplicate, and changes nothing,
	// when a credential with c.ID exists for any user. Of concurrent calls
	// with the same c.ID exactly one succeeds.
	AddCredential(ctx context.Context, c CredentialRecord) error
	// CredentialsByUser returns the user's credentials ordered by CreatedAt,
	// then ID. A user without credentials gets an empty slice and no error.
	CredentialsByUser(ctx context.Context, userID string) ([]CredentialRecord, error)
	// RecordCredentialUse writes back the state of a successful login in one
	// atomic step, and only if the signature counter advanced: the new
	// SignCount must be greater than the stored one, unless both are zero
	// (authenticators without a counter). Otherwise it returns
	// ErrCounterRegressed and changes nothing. It returns ErrNotFound when
	// the credential does not exist. Two concurrent calls with the same
	// new count cannot both succeed.
	RecordCredentialUse(ctx context.Context, u CredentialUse) error
	// DeleteCredential removes the credential id if it belongs to userID.
	// It returns ErrNotFound when it does not exist or belongs to another
	// user (whose credential is left untouched).
	DeleteCredential(ctx context.Context, userID string, id []byte) error
}

// CeremonyKind names the ceremony a challenge was issued for.
type CeremonyKind string

// The ceremony kinds.
const (
	CeremonyAppend CeremonyKind = "append"
	// CeremonyAppendConditional is an append begun by
	// StartConditionalAppend: the one ceremony whose finish accepts a
	// response without user presence.
	CeremonyAppendConditional CeremonyKind = "append-conditional"
	CeremonyLogin             CeremonyKind = "login"
	CeremonyMediation         CeremonyKind = "mediation"
)

// Ceremony is the server-side state between a start and a finish, keyed by
// its challenge.
type Ceremony struct {
	// Challenge is the base64url challenge; the key.
	Challenge string
	Kind      CeremonyKind
	// UserID is the account the ceremony is bound to; empty for mediation.
	UserID string
	// Session is go-webauthn's webauthn.SessionData in its MessagePack
	// encoding (the engine also reads the JSON of earlier versions), or
	// the state a [Keeper] stores; stored whole and returned byte for byte.
	Session   []byte
	ExpiresAt time.Time
}

// CeremonyStore stores pending ceremonies. Its methods must be safe for
// concurrent use, also across instances when the store is shared.
type CeremonyStore interface {
	// PutCeremony stores c. It returns ErrDuplicate, and changes nothing,
	// when a ceremony with the same Challenge exists and is live at now; it
	// never overwrites a live ceremony. One that has expired at now is
	// replaced, in the same atomic step, so of concurrent puts of one
	// challenge exactly one succeeds either way.
	// Implementations purge ceremonies expired at now here, a bounded
	// number at a time and at least as many as they add on average, so
	// that abandoned ceremonies cannot accumulate.
	PutCeremony(ctx context.Context, c Ceremony, now time.Time) error
	// TakeCeremony removes and returns the ceremony with this challenge in
	// one atomic step, if it has not expired at now (ExpiresAt after now).
	// Of concurrent callers exactly one gets it; the others, and any caller
	// after an expiry, get ErrNotFound. An expired ceremony need not be
	// removed here; PutCeremony purges it.
	TakeCeremony(ctx context.Context, challenge string, now time.Time) (Ceremony, error)
}

// OTPRecord is a one-time code waiting to be used. The code itself is never
// stored, only a keyed hash of it.
type OTPRecord struct {
	Email     string
	Hash      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	// Attempts counts the checks made against this code.
	Attempts int
}

// OTPStore stores one pending code per email. Its methods must be safe
// for concurrent use, also across instances when the store is shared.
type OTPStore interface {
	// PutOTP makes o the email's code, replacing any previous one, and
	// reports stored = true. The exception is the resend cooldown: when the
	// email already has a code that is live at o.CreatedAt (ExpiresAt after
	// it) and was created after keepIfCreatedAfter, that code is kept
	// unchanged and stored is false. The decision is atomic.
	// Implementations may purge expired codes here.
	PutOTP(ctx context.Context, o OTPRecord, keepIfCreatedAfter time.Time) (stored bool, err error)
	// ReserveOTPAttempt counts one check against the email's code in one
	// atomic step: when a code is live at now and has fewer than
	// maxAttempts attempts, its Attempts is incremented and the updated
	// record returned; otherwise it returns ErrNotFound. Concurrent callers
	// can never make more than maxAttempts reservations in total.
	ReserveOTPAttempt(ctx context.Context, email string, now time.Time, maxAttempts int) (OTPRecord, error)
	// DeleteOTP removes the email's code if its Hash equals hash. It returns
	// ErrNotFound when there is no such code (already used or replaced); of
	// concurrent callers exactly one succeeds.
	DeleteOTP(ctx context.Context, email string, hash []byte) error
}

// Store is everything the engine keeps, and no more: each method is one
// the engine calls. Implementations: memstore (in-memory, for tests),
// sqlitestore (embedded default) and pgstore (several instances on one
// PostgreSQL database). Each passes storetest.Run, and each also
// implements the optional [UserByIDStore], [CredentialByIDStore],
// [AccountStore], [SessionStore] and [ActivityStore].
//
// A Store is used by many requests at once and must be safe for
// concurrent use; the atomicity each method promises holds among
// concurrent callers, and among instances when several share one
// database.
type Store interface {
	UserStore
	CredentialStore
	CeremonyStore
	OTPStore
}

// UserByIDStore is an optional capability of a [Store]: reading one user
// by ID alone. Ceremonies never need it (they read the user with
// [UserStore.UserWithCredentials]); [Engine.LookupUser], which the demo
// JWT's guard calls, uses it when the store has it and reads the user with
// its credentials otherwise, so a Store need not have it. Tools and tests
// that hold a store discover it with a type assertion:
//
//	if s, ok := store.(selfhosted.UserByIDStore); ok { u, err := s.UserByID(ctx, id) }
//
// storetest checks it when a store implements it. It must be safe for
// concurrent use.
type UserByIDStore interface {
	// UserByID returns the user with this ID, or ErrNotFound.
	UserByID(ctx context.Context, id string) (UserRecord, error)
}

// CredentialRenamer is an optional capability of a [Store]: renaming a
// passkey. [Engine.RenamePasskey] (PATCH /passkeys/{id}) needs it and
// answers 400 not_supported without it. memstore, sqlitestore and pgstore
// have it; storetest checks it when a store implements it. It must be
// safe for concurrent use.
type CredentialRenamer interface {
	// RenameCredential sets the Name of the credential id if it belongs
	// to userID, and returns the record as it is now. It returns
	// ErrNotFound, and changes nothing, when the credential does not exist
	// or belongs to another user. Renaming to the current name succeeds.
	RenameCredential(ctx context.Context, userID string, id []byte, name string) (CredentialRecord, error)
}

// CredentialByIDStore is an optional capability of a [Store]: reading one
// credential by its ID alone, whoever owns it. The engine never calls it
// (it reads credentials with their user), so a Store need not have it;
// storetest checks it when a store implements it. It must be safe for
// concurrent use.
type CredentialByIDStore interface {
	// Credential returns the credential with this ID, or ErrNotFound.
	Credential(ctx context.Context, id []byte) (CredentialRecord, error)
}

// CeremonyWithUserStore is an optional capability of a [Store]: taking a
// ceremony and reading the user it is bound to in one round trip. A button
// login's finish reads that user right after taking its ceremony; pgstore
// does both in one statement, so a login finish costs two round trips
// instead of three. The engine uses it when the store has it and calls
// TakeCeremony and UserWithCredentials otherwise. storetest checks it when
// a store implements it. It must be safe for concurrent use.
type CeremonyWithUserStore interface {
	// TakeCeremonyWithUser takes the ceremony as TakeCeremony does, with
	// the same atomicity and the same ErrNotFound, and returns with it the
	// user its UserID names and that user's credentials, as
	// UserWithCredentials returns them. When the ceremony has no UserID, or
	// that user no longer exists, the ceremony is still taken and the user
	// is the zero UserRecord (empty ID) with no credentials.
	TakeCeremonyWithUser(ctx context.Context, challenge string, now time.Time) (Ceremony, UserRecord, []CredentialRecord, error)
}

// CeremonyWithHandleUserStore is an optional capability of a [Store]:
// taking a ceremony and reading the user a user handle names in one round
// trip. An autofill (mediation) login's finish learns its user from the
// handle the authenticator returned, not from the ceremony, and reads that
// user right after taking the ceremony; pgstore does both in one
// statement, so an autofill finish costs two round trips instead of three.
// The engine uses it when the store has it and calls TakeCeremony and
// UserWithCredentials otherwise. storetest checks it when a store
// implements it. It must be safe for concurrent use.
type CeremonyWithHandleUserStore interface {
	// TakeCeremonyWithHandleUser takes the ceremony as TakeCeremony does,
	// with the same atomicity and the same ErrNotFound, and returns with it
	// the user whose Handle is handle and that user's credentials, as
	// UserWithCredentials(UserKey{Handle: handle}) returns them. When no
	// user has that handle the ceremony is still taken and the user is the
	// zero UserRecord (empty ID) with no credentials. The ceremony's own
	// UserID plays no part.
	TakeCeremonyWithHandleUser(ctx context.Context, challenge string, handle []byte, now time.Time) (Ceremony, UserRecord, []CredentialRecord, error)
}
