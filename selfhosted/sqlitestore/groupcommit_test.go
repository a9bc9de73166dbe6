package sqlitestore

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// TestGroupCommit writes sessions from many goroutines at once, every
// third one a duplicate of an ID already written, and checks that each
// caller gets its own answer (nil, or ErrDuplicate for a duplicate), that
// exactly the sessions answered nil are stored, and that the writes shared
// commits: fewer commits than writes.
func TestGroupCommit(t *testing.T) {
	s := openTemp(t)
	ctx := t.Context()
	session := func(id string, hash byte) selfhosted.SessionRecord {
		return selfhosted.SessionRecord{
			ID: id, TokenHash: bytes.Repeat([]byte{hash}, 32), UserID: "alice", Email: "alice@example.com",
			CreatedAt: day0, LastSeenAt: day0, ExpiresAt: day0.Add(time.Hour), IdleExpiresAt: day0.Add(time.Hour),
		}
	}
	for i := range 10 {
		if err := s.CreateSession(ctx, session(fmt.Sprintf("old-%d", i), byte(200+i)), day0); err != nil {
			t.Fatal(err)
		}
	}
	var commits atomic.Int64
	withCommitHook(t, s, func() { commits.Add(1) })

	const n = 150
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r := session(fmt.Sprintf("new-%d", i), byte(i))
			if i%3 == 0 {
				r = session(fmt.Sprintf("old-%d", i%10), byte(i)) // an ID taken
			}
			errs[i] = s.CreateSession(ctx, r, day0)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		switch {
		case i%3 == 0 && !errors.Is(err, selfhosted.ErrDuplicate):
			t.Errorf("duplicate session %d: %v, want ErrDuplicate", i, err)
		case i%3 != 0 && err != nil:
			t.Errorf("session %d: %v", i, err)
		}
	}
	if got, want := rows(t, s, "sessions"), 10+n-n/3; got != want {
		t.Errorf("%d sessions stored, want %d", got, want)
	}
	for i := range n {
		if i%3 == 0 {
			continue
		}
		if _, err := s.SessionByTokenHash(ctx, bytes.Repeat([]byte{byte(i)}, 32), day0); err != nil {
			t.Errorf("session %d after the writes: %v", i, err)
		}
	}
	if c := commits.Load(); c >= n {
		t.Errorf("%d commits for %d concurrent writes: none shared a commit", c, n)
	} else {
		t.Logf("%d concurrent writes in %d commits", n, c)
	}
}
