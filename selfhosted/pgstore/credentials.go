package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/passkeyready/passkeys/selfhosted"
)

const credentialColumns = `id, user_id, name, data, sign_count, backup_state, created_at, last_used_at`

// AddCredential implements [selfhosted.CredentialStore]. The user must
// exist.
func (s *Store) AddCredential(ctx context.Context, c selfhosted.CredentialRecord) error {
	_, err := s.pool.Exec(ctx,
		s.sql(`INSERT INTO {schema}.credentials (`+credentialColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`),
		c.ID, c.UserID, c.Name, c.Data, int64(c.SignCount), c.BackupState, c.CreatedAt, nullTime(c.LastUsedAt))
	if err != nil {
		return storeErr("add credential", err)
	}
	return nil
}

// Credential implements [selfhosted.CredentialByIDStore].
func (s *Store) Credential(ctx context.Context, id []byte) (selfhosted.CredentialRecord, error) {
	c, err := scanCredential(s.pool.QueryRow(ctx,
		s.sql(`SELECT `+credentialColumns+` FROM {schema}.credentials WHERE id = $1`), id))
	if err != nil {
		return selfhosted.CredentialRecord{}, storeErr("read credential", err)
	}
	return c, nil
}

// CredentialsByUser implements [selfhosted.CredentialStore].
func (s *Store) CredentialsByUser(ctx context.Context, userID string) ([]selfhosted.CredentialRecord, error) {
	rows, err := s.pool.Query(ctx,
		s.sql(`SELECT `+credentialColumns+` FROM {schema}.credentials WHERE user_id = $1 ORDER BY created_at, id`), userID)
	if err != nil {
		return nil, storeErr("list credentials", err)
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (selfhosted.CredentialRecord, error) {
		return scanCredential(row)
	})
	if err != nil {
		return nil, storeErr("list credentials", err)
	}
	if list == nil {
		list = []selfhosted.CredentialRecord{}
	}
	return list, nil
}

// RecordCredentialUse implements [selfhosted.CredentialStore].
func (s *Store) RecordCredentialUse(ctx context.Context, u selfhosted.CredentialUse) error {
	tag, err := s.pool.Exec(ctx,
		s.sql(`UPDATE {schema}.credentials SET sign_count = $2, backup_state = $3, last_used_at = $4
		WHERE id = $1 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))`),
		u.ID, int64(u.SignCount), u.BackupState, u.UsedAt)
	if err != nil {
		return storeErr("record credential use", err)
	}
	if err := oneRow(tag); !errors.Is(err, selfhosted.ErrNotFound) {
		return err
	}
	// Nothing changed: either there is no such credential or its counter
	// did not advance.
	var one int
	err = s.pool.QueryRow(ctx, s.sql(`SELECT 1 FROM {schema}.credentials WHERE id = $1`), u.ID).Scan(&one)
	if err != nil {
		return storeErr("record credential use", err)
	}
	return selfhosted.ErrCounterRegressed
}

// DeleteCredential implements [selfhosted.CredentialStore].
func (s *Store) DeleteCredential(ctx context.Context, userID string, id []byte) error {
	tag, err := s.pool.Exec(ctx, s.sql(`DELETE FROM {schema}.credentials WHERE id = $1 AND user_id = $2`), id, userID)
	if err != nil {
		return storeErr("delete credential", err)
	}
	return oneRow(tag)
}

// scanCredential reads one row of credentialColumns.
func scanCredential(row pgx.Row) (selfhosted.CredentialRecord, error) {
	var c selfhosted.CredentialRecord
	var signCount int64
	var created time.Time
	var lastUsed *time.Time
	if err := row.Scan(&c.ID, &c.UserID, &c.Name, &c.Data, &signCount, &c.BackupState, &created, &lastUsed); err != nil {
		return selfhosted.CredentialRecord{}, err
	}
	c.SignCount, c.CreatedAt = uint32(signCount), created.UTC()
	if lastUsed != nil {
		c.LastUsedAt = lastUsed.UTC()
	}
	return c, nil
}

var _ selfhosted.CredentialRenamer = (*Store)(nil)

// RenameCredential implements [selfhosted.CredentialRenamer] in one
// statement.
func (s *Store) RenameCredential(ctx context.Context, userID string, id []byte, name string) (selfhosted.CredentialRecord, error) {
	c, err := scanCredential(s.pool.QueryRow(ctx,
		s.sql(`UPDATE {schema}.credentials SET name = $1 WHERE id = $2 AND user_id = $3 RETURNING `+credentialColumns), name, id, userID))
	if err != nil {
		return selfhosted.CredentialRecord{}, storeErr("rename credential", err)
	}
	return c, nil
}
