package sqlitestore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// TestReadsBesideWriter holds a write transaction open on the writer's
// connection and reads meanwhile: with Open's read-only connections the
// read neither waits for the writer nor sees its uncommitted row, and it
// sees the row once the write is committed. A store opened with
// SingleProcess reads on the writer's connection.
func TestReadsBesideWriter(t *testing.T) {
	s := openTemp(t)
	if n := s.reads.Stats().MaxOpenConnections; s.reads == s.db || n != readConns {
		t.Fatalf("Open's read pool: separate %v, %d connections, want separate with %d", s.reads != s.db, n, readConns)
	}
	ctx := t.Context()
	if err := s.CreateUser(ctx, alice()); err != nil {
		t.Fatal(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	bob := selfhosted.UserRecord{ID: "bob", Email: "bob@example.com", Handle: []byte("bob-handle-0123456789abcdef"), CreatedAt: day0}
	if _, err := tx.ExecContext(ctx, `INSERT INTO users (id, email, handle, created_at) VALUES (?, ?, ?, ?)`,
		bob.ID, bob.Email, bob.Handle, micros(bob.CreatedAt)); err != nil {
		t.Fatal(err)
	}
	// The writer's one connection is held by tx: a read on it would wait
	// until the deadline.
	readCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if u, err := s.UserByID(readCtx, "alice"); err != nil || u.Email != "alice@example.com" {
		t.Errorf("UserByID(alice) during a write = %+v, %v; want alice", u, err)
	}
	if _, err := s.UserByID(readCtx, "bob"); !errors.Is(err, selfhosted.ErrNotFound) {
		t.Errorf("UserByID(bob) before its commit = %v, want ErrNotFound", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if u, err := s.UserByID(ctx, "bob"); err != nil || u.Email != bob.Email {
		t.Errorf("UserByID(bob) after its commit = %+v, %v; want bob", u, err)
	}

	single := openSingle(t)
	if single.reads != single.db {
		t.Error("a SingleProcess store opened read connections beside its locked one")
	}
}
