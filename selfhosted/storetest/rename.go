package storetest

import (
	"testing"

	"github.com/passkeyready/passkeys/selfhosted"
)

// testRename checks the optional [selfhosted.CredentialRenamer]: the
// owner's rename changes the name and nothing else, returns the record as
// stored, and any other user's, or an unknown ID, is ErrNotFound and
// changes nothing.
func testRename(t *testing.T, newStore newStoreFunc) {
	now := anchor()
	ctx, s := t.Context(), withUsers(t, newStore, now)
	rn, ok := s.(selfhosted.CredentialRenamer)
	if !ok {
		t.Skip("the store has no CredentialRenamer")
	}
	c := credential([]byte{0x07, 0x00, 0xff}, "user-1", now)
	setup(t, "AddCredential", s.AddCredential(ctx, c))
	other := credential([]byte{0x08}, "user-2", now)
	setup(t, "AddCredential", s.AddCredential(ctx, other))

	want := c
	want.Name = "Schlüssel 🔑 of the office"
	got, err := rn.RenameCredential(ctx, "user-1", c.ID, want.Name)
	wantValue(t, "RenameCredential", showCredential, want, got, err)
	got, err = credentialByID(ctx, s, "user-1", c.ID)
	wantValue(t, "Credential after the rename", showCredential, want, got, err)

	got, err = rn.RenameCredential(ctx, "user-1", c.ID, want.Name)
	wantValue(t, "RenameCredential(same name)", showCredential, want, got, err)

	_, err = rn.RenameCredential(ctx, "user-2", c.ID, "taken over")
	wantErr(t, "RenameCredential(another user's)", err, selfhosted.ErrNotFound)
	_, err = rn.RenameCredential(ctx, "user-1", other.ID, "taken over")
	wantErr(t, "RenameCredential(another user's)", err, selfhosted.ErrNotFound)
	_, err = rn.RenameCredential(ctx, "user-1", []byte{0x07, 0x00}, "unknown")
	wantErr(t, "RenameCredential(unknown ID)", err, selfhosted.ErrNotFound)
	got, err = credentialByID(ctx, s, "user-1", c.ID)
	wantValue(t, "Credential after refused renames", showCredential, want, got, err)
	got, err = credentialByID(ctx, s, "user-2", other.ID)
	wantValue(t, "other user's credential after refused renames", showCredential, other, got, err)
}
