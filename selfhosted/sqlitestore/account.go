package sqlitestore

import (
	"context"

	"github.com/passkeyready/passkeys/selfhosted"
)

var _ selfhosted.AccountStore = (*Store)(nil)

// DeleteUser implements [selfhosted.AccountStore] in one IMMEDIATE
// transaction, which takes the write lock before it reads, so that no
// other writer can come between the statements.
func (s *Store) DeleteUser(ctx context.Context, id string) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return storeErr("delete user: connect", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return storeErr("delete user: begin", err)
	}
	defer func() {
		if err != nil {
			// The transaction may already be gone; the statement's error is
			// the one to report.
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	prefix := selfhosted.UserOTPKeyPrefix(id)
	steps := []struct {
		op, query string
		args      []any
	}{
		{"delete user's codes",
			`DELETE FROM otps WHERE email = (SELECT email FROM users WHERE id = ?1)
				OR (substr(email, 1, ?2) = ?3 AND EXISTS (SELECT 1 FROM users WHERE id = ?1))`,
			[]any{id, len([]rune(prefix)), prefix}},
		{"delete user's credentials", `DELETE FROM credentials WHERE user_id = ?`, []any{id}},
		{"delete user's activity", deleteActivitySQL, []any{id}},
	}
	for _, st := range steps {
		if _, err := conn.ExecContext(ctx, st.query, st.args...); err != nil {
			return storeErr(st.op, err)
		}
	}
	res, err := conn.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		return storeErr("delete user", err)
	}
	if err := oneRow(res, "delete user"); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return storeErr("delete user: commit", err)
	}
	return nil
}

// UpdateUserEmail implements [selfhosted.AccountStore] with one UPDATE.
func (s *Store) UpdateUserEmail(ctx context.Context, id, email string) error {
	res, err := s.exec(ctx, `UPDATE users SET email = ? WHERE id = ?`, email, id)
	if err != nil {
		return storeErr("update user email", err)
	}
	return oneRow(res, "update user email")
}
