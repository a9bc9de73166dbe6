package sqlitestore

import (
	"strings"
	"testing"
)

// TestSessionQueriesUseIndexes checks with EXPLAIN QUERY PLAN that every
// session statement finds its rows through the index named, and that none
// scans the table or sorts in a temporary b-tree. The table is WITHOUT
// ROWID, so a lookup by id is "USING PRIMARY KEY".
func TestSessionQueriesUseIndexes(t *testing.T) {
	s := openTemp(t)
	for _, tc := range []struct {
		name, query, index string
	}{
		{"purge", purgeSessionsSQL, "sessions_by_end"},
		{"by hash", sessionByHashSQL, "sessions_token_hash"},
		{"touch", touchSessionSQL, "PRIMARY KEY"},
		{"by user", sessionsByUserSQL, "sessions_by_user"},
		{"delete", deleteSessionSQL, "PRIMARY KEY"},
		{"delete by hash", deleteSessionByHashSQL, "sessions_token_hash"},
		{"delete user's", deleteUserSessionsSQL, "sessions_by_user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := s.db.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+tc.query, 1, 2, 3)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, "\n")
			if strings.Contains(all, "SCAN") || strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("plan scans or sorts:\n%s", all)
			}
			if !strings.Contains(all, "USING INDEX "+tc.index+" ") && !strings.Contains(all, "USING COVERING INDEX "+tc.index+" ") &&
				!strings.Contains(all, "USING "+tc.index+" ") {
				t.Errorf("plan does not use %s:\n%s", tc.index, all)
			}
		})
	}
}
