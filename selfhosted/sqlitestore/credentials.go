package sqlitestore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/passkeyready/passkeys/selfhosted"
)

const credentialColumns = `id, user_id, name, data, sign_count, backup_state, created_at, last_used_at`

// AddCredential implements [selfhosted.CredentialStore]. The user must
// exist.
func (s *Store) AddCredential(ctx context.Context, c selfhosted.CredentialRecord) error {
	_, err := s.exec(ctx,
		`INSERT INTO credentials (`+credentialColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.Name, c.Data, c.SignCount, c.BackupState, micros(c.CreatedAt), nullMicros(c.LastUsedAt))
	if err != nil {
		return storeErr("add credential", err)
	}
	return nil
}

// Credential implements [selfhosted.CredentialByIDStore].
func (s *Store) Credential(ctx context.Context, id []byte) (selfhosted.CredentialRecord, error) {
	c, err := scanCredential(s.readRow(ctx,
		`SELECT `+credentialColumns+` FROM credentials WHERE id = ?`, id))
	if err != nil {
		return selfhosted.CredentialRecord{}, storeErr("read credential", err)
	}
	return c, nil
}

// CredentialsByUser implements [selfhosted.CredentialStore].
func (s *Store) CredentialsByUser(ctx context.Context, userID string) ([]selfhosted.CredentialRecord, error) {
	rows, err := s.query(ctx,
		`SELECT `+credentialColumns+` FROM credentials WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, storeErr("list credentials", err)
	}
	defer rows.Close()
	list := []selfhosted.CredentialRecord{}
	for rows.Next() {
		c, err := scanCredential(rows)
		if err != nil {
			return nil, storeErr("list credentials", err)
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, storeErr("list credentials", err)
	}
	return list, nil
}

// RecordCredentialUse implements [selfhosted.CredentialStore].
func (s *Store) RecordCredentialUse(ctx context.Context, u selfhosted.CredentialUse) error {
	return s.inTx(ctx, "record credential use", recordUseSQL, func(ctx context.Context, tx *sql.Tx) error {
		res, err := s.txExec(ctx, tx, recordUseSQL[0], u.ID, u.SignCount, u.BackupState, micros(u.UsedAt))
		if err != nil {
			return storeErr("record credential use", err)
		}
		if err := oneRow(res, "record credential use"); err == nil || !errors.Is(err, selfhosted.ErrNotFound) {
			return err
		}
		// Nothing changed: either there is no such credential or its
		// counter did not advance.
		var one int
		if err := s.txQueryRow(ctx, tx, recordUseSQL[1], u.ID).Scan(&one); err != nil {
			return storeErr("record credential use", err)
		}
		return selfhosted.ErrCounterRegressed
	})
}

// recordUseSQL are the statements of RecordCredentialUse: the update, and
// the check for the credential when it changed nothing.
var recordUseSQL = []string{
	`UPDATE credentials SET sign_count = ?2, backup_state = ?3, last_used_at = ?4
		WHERE id = ?1 AND (sign_count < ?2 OR (sign_count = 0 AND ?2 = 0))`,
	`SELECT 1 FROM credentials WHERE id = ?`,
}

// DeleteCredential implements [selfhosted.CredentialStore].
func (s *Store) DeleteCredential(ctx context.Context, userID string, id []byte) error {
	res, err := s.exec(ctx, `DELETE FROM credentials WHERE id = ? AND user_id = ?`, id, userID)
	if err != nil {
		return storeErr("delete credential", err)
	}
	return oneRow(res, "delete credential")
}

// scanCredential reads one row of credentialColumns.
func scanCredential(r row) (selfhosted.CredentialRecord, error) {
	var c selfhosted.CredentialRecord
	var created int64
	var lastUsed sql.NullInt64
	err := r.Scan(&c.ID, &c.UserID, &c.Name, &c.Data, &c.SignCount, &c.BackupState, &created, &lastUsed)
	c.CreatedAt, c.LastUsedAt = fromMicros(created), fromNullMicros(lastUsed)
	return c, err
}

var _ selfhosted.CredentialRenamer = (*Store)(nil)

// RenameCredential implements [selfhosted.CredentialRenamer] in one
// statement.
func (s *Store) RenameCredential(ctx context.Context, userID string, id []byte, name string) (selfhosted.CredentialRecord, error) {
	c, err := scanCredential(s.queryRow(ctx,
		`UPDATE credentials SET name = ? WHERE id = ? AND user_id = ? RETURNING `+credentialColumns, name, id, userID))
	if err != nil {
		return selfhosted.CredentialRecord{}, storeErr("rename credential", err)
	}
	return c, nil
}
