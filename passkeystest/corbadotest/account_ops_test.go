package corbadotest_test

import (
	"context"
	"testing"

	"github.com/passkeyready/passkeys/internal/corbadoapi"
)

// IdentifierDelete removes one identifier of one user; an unknown user or
// an identifier that is not the user's gets "<field>: does not exist" and
// nothing changes.
func TestEmulatorIdentifierDelete(t *testing.T) {
	e := newEmulator(t)
	ctx := context.Background()
	one := e.user(t, "one@example.com")
	two := e.user(t, "two@example.com")
	list := func(userID string) []corbadoapi.Identifier {
		t.Helper()
		l, err := e.api.IdentifierList(ctx, corbadoapi.ListParams{Filter: []string{"userID:eq:" + userID}})
		if err != nil {
			t.Fatal(err)
		}
		return l.Identifiers
	}
	ids := list(one)
	if len(ids) != 1 {
		t.Fatalf("identifiers of one: %+v", ids)
	}
	twoIDs := list(two)
	if len(twoIDs) != 1 {
		t.Fatalf("identifiers of two: %+v", twoIDs)
	}
	expectDoesNotExist(t, "delete another user's identifier", e.api.IdentifierDelete(ctx, one, twoIDs[0].IdentifierID), "identifierID")
	expectDoesNotExist(t, "delete an unknown identifier", e.api.IdentifierDelete(ctx, one, "ide-123456789"), "identifierID")
	expectDoesNotExist(t, "delete for an unknown user", e.api.IdentifierDelete(ctx, "usr-123456789", ids[0].IdentifierID), "userID")
	if len(list(two)) != 1 || len(list(one)) != 1 {
		t.Fatalf("a refused delete removed an identifier")
	}
	if err := e.api.IdentifierDelete(ctx, one, ids[0].IdentifierID); err != nil {
		t.Fatalf("IdentifierDelete: %v", err)
	}
	if got := list(one); len(got) != 0 {
		t.Errorf("identifiers of one after the delete: %+v", got)
	}
	expectDoesNotExist(t, "delete the deleted identifier", e.api.IdentifierDelete(ctx, one, ids[0].IdentifierID), "identifierID")
	// The address is free for another user.
	if _, err := e.api.IdentifierCreate(ctx, two, corbadoapi.IdentifierCreateReq{
		IdentifierType: "email", IdentifierValue: "one@example.com", Status: corbadoapi.IdentifierVerified,
	}); err != nil {
		t.Errorf("IdentifierCreate of the freed address: %v", err)
	}
}
