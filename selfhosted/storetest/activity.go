package storetest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passkeyready/passkeys/selfhosted"
)

// activityStoreFunc returns a fresh store as an ActivityStore.
type activityStoreFunc = func(t *testing.T) selfhosted.ActivityStore

// testActivity checks the optional [selfhosted.ActivityStore], when the
// store implements it.
func testActivity(t *testing.T, h Harness) {
	if _, ok := h.NewStore(t).(selfhosted.ActivityStore); !ok {
		t.Skip("the store does not implement the optional selfhosted.ActivityStore")
	}
	newStore := func(t *testing.T) selfhosted.ActivityStore {
		return h.NewStore(t).(selfhosted.ActivityStore)
	}
	t.Run("RoundTrip", func(t *testing.T) { testActivityRoundTrip(t, newStore) })
	t.Run("Order", func(t *testing.T) { testActivityOrder(t, newStore) })
	t.Run("PerUser", func(t *testing.T) { testActivityPerUser(t, newStore) })
	t.Run("MaxAge", func(t *testing.T) { testActivityMaxAge(t, newStore) })
	t.Run("MaxPerUser", func(t *testing.T) { testActivityMaxPerUser(t, newStore) })
	t.Run("Delete", func(t *testing.T) { testActivityDelete(t, newStore) })
	t.Run("CancelledContext", func(t *testing.T) { testActivityCancelledContext(t, newStore) })
	if _, ok := h.NewStore(t).(selfhosted.ActivityBatchStore); ok {
		newBatchStore := func(t *testing.T) selfhosted.ActivityBatchStore {
			return h.NewStore(t).(selfhosted.ActivityBatchStore)
		}
		t.Run("Batch", func(t *testing.T) { testActivityBatch(t, newBatchStore) })
	}
}

// testActivityBatch checks the optional [selfhosted.ActivityBatchStore]:
// a batch is stored as its records appended one by one would be, in
// order, each user trimmed to the newest ActivityMaxPerUser, and none of
// it with a cancelled context.
func testActivityBatch(t *testing.T, newStore func(t *testing.T) selfhosted.ActivityBatchStore) {
	t.Run("OrderAndUsers", func(t *testing.T) {
		s := newStore(t)
		now := anchor()
		if err := s.AppendActivities(t.Context(), nil, now); err != nil {
			t.Errorf("AppendActivities(nil): %v", err)
		}
		a := activity(1, "user-1", now.Add(-2*time.Minute))
		b := activity(2, "user-1", now.Add(-time.Minute))
		c := activity(3, "user-2", now.Add(-time.Minute))
		d := activity(4, "user-1", now.Add(-time.Minute)) // same time as b, later in the batch
		e := activity(5, "user-1", now.Add(-3*time.Minute))
		appendActivity(t, s, now, activity(0, "user-1", now.Add(-time.Minute)))
		if err := s.AppendActivities(t.Context(), []selfhosted.ActivityRecord{b, a, c, d, e}, now); err != nil {
			t.Fatalf("AppendActivities: %v", err)
		}
		wantActivity(t, s, "user-1", now, 50, d, b, activity(0, "user-1", now.Add(-time.Minute)), a, e)
		wantActivity(t, s, "user-2", now, 50, c)
		// An append after the batch is later than all of it.
		f := activity(6, "user-1", now.Add(-time.Minute))
		appendActivity(t, s, now, f)
		wantActivity(t, s, "user-1", now, 2, f, d)
	})
	t.Run("MaxPerUser", func(t *testing.T) {
		s := newStore(t)
		now := anchor()
		n := selfhosted.ActivityMaxPerUser + 7
		var all, batch, others []selfhosted.ActivityRecord
		for i := range n {
			all = append(all, activity(i, "user-1", now.Add(-time.Duration(n-i)*time.Second)))
		}
		// The newest of them first, then the older ones in one batch
		// beside another user's: the trim keeps the newest by time, not
		// the latest appended.
		appendActivity(t, s, now, all[n-5:]...)
		for i, r := range all[:n-5] {
			batch = append(batch, r)
			if i%50 == 0 {
				o := activity(1000+i, "user-2", now.Add(-time.Duration(i)*time.Millisecond))
				batch = append(batch, o)
				others = append(others, o) // newest first
			}
		}
		if err := s.AppendActivities(t.Context(), batch, now); err != nil {
			t.Fatalf("AppendActivities of %d records: %v", len(batch), err)
		}
		var want []selfhosted.ActivityRecord
		for i := n - 1; i >= n-selfhosted.ActivityMaxPerUser; i-- {
			want = append(want, all[i])
		}
		wantActivity(t, s, "user-1", now, n, want...)
		wantActivity(t, s, "user-2", now, n, others...)
	})
	t.Run("CancelledContext", func(t *testing.T) {
		s := newStore(t)
		now := anchor()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.AppendActivities(ctx, []selfhosted.ActivityRecord{activity(1, "user-1", now), activity(2, "user-2", now)}, now); err == nil {
			t.Error("AppendActivities with a cancelled context: no error")
		}
		wantActivity(t, s, "user-1", now, 50)
		wantActivity(t, s, "user-2", now, 50)
	})
}

// activity returns the n-th fixture record of userID at at.
func activity(n int, userID string, at time.Time) selfhosted.ActivityRecord {
	return selfhosted.ActivityRecord{
		UserID: userID, Kind: "login", At: at, Method: "passkey",
		Detail: fmt.Sprintf("detail %d", n), IP: "192.0.2.7", UserAgent: fmt.Sprintf("Agent/%d", n),
	}
}

func showActivity(r selfhosted.ActivityRecord) string {
	return fmt.Sprintf("{%q %q %s %q %q %q %q}", r.UserID, r.Kind, r.At.Format(time.RFC3339Nano), r.Method, r.Detail, r.IP, r.UserAgent)
}

func appendActivity(t *testing.T, s selfhosted.ActivityStore, now time.Time, rs ...selfhosted.ActivityRecord) {
	t.Helper()
	for _, r := range rs {
		if err := s.AppendActivity(t.Context(), r, now); err != nil {
			t.Fatalf("AppendActivity(%s): %v", showActivity(r), err)
		}
	}
}

// wantActivity checks that ActivityByUser lists exactly want, in order.
func wantActivity(t *testing.T, s selfhosted.ActivityStore, userID string, now time.Time, limit int, want ...selfhosted.ActivityRecord) {
	t.Helper()
	got, err := s.ActivityByUser(t.Context(), userID, now, limit)
	if err != nil {
		t.Errorf("ActivityByUser(%q, limit %d): %v", userID, limit, err)
		return
	}
	if got == nil {
		t.Errorf("ActivityByUser(%q) = nil, want an empty slice at least", userID)
	}
	show := func(rs []selfhosted.ActivityRecord) string {
		parts := make([]string, len(rs))
		for i, r := range rs {
			parts[i] = showActivity(r)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	if show(got) != show(want) {
		t.Errorf("ActivityByUser(%q, limit %d) =\n %s\nwant\n %s", userID, limit, show(got), show(want))
	}
}

func testActivityRoundTrip(t *testing.T, newStore activityStoreFunc) {
	s := newStore(t)
	now := anchor()
	r := selfhosted.ActivityRecord{
		UserID: "user-1", Kind: "passkey_added", At: now.Add(-time.Hour), Detail: "Chrome on Mac — 鍵",
		IP: "2001:db8::1", UserAgent: "Mozilla/5.0 (Macintosh) “quoted” 🙂",
	}
	appendActivity(t, s, now, r)
	wantActivity(t, s, "user-1", now, 50, r)
	wantActivity(t, s, "nobody", now, 50)
}

func testActivityOrder(t *testing.T, newStore activityStoreFunc) {
	s := newStore(t)
	now := anchor()
	a := activity(1, "user-1", now.Add(-2*time.Minute))
	b := activity(2, "user-1", now.Add(-time.Minute))
	c := activity(3, "user-1", now.Add(-time.Minute)) // same time as b, appended later
	d := activity(4, "user-1", now.Add(-3*time.Minute))
	appendActivity(t, s, now, b, a, c, d)
	wantActivity(t, s, "user-1", now, 50, c, b, a, d)
	wantActivity(t, s, "user-1", now, 2, c, b)
}

func testActivityPerUser(t *testing.T, newStore activityStoreFunc) {
	s := newStore(t)
	now := anchor()
	a := activity(1, "user-1", now.Add(-time.Minute))
	b := activity(2, "user-2", now.Add(-time.Minute))
	appendActivity(t, s, now, a, b)
	wantActivity(t, s, "user-1", now, 50, a)
	wantActivity(t, s, "user-2", now, 50, b)
}

func testActivityMaxAge(t *testing.T, newStore activityStoreFunc) {
	s := newStore(t)
	now := anchor()
	old := activity(1, "user-1", now.Add(-selfhosted.ActivityMaxAge))
	young := activity(2, "user-1", now.Add(-selfhosted.ActivityMaxAge+time.Microsecond))
	appendActivity(t, s, now, old, young)
	wantActivity(t, s, "user-1", now, 50, young)
	later := now.Add(time.Microsecond)
	wantActivity(t, s, "user-1", later, 50)
	// Appends at a later time purge in passing and keep what is young.
	fresh := activity(3, "user-1", later)
	appendActivity(t, s, later, fresh)
	wantActivity(t, s, "user-1", later, 50, fresh)
}

func testActivityMaxPerUser(t *testing.T, newStore activityStoreFunc) {
	s := newStore(t)
	now := anchor()
	other := activity(0, "user-2", now.Add(-time.Hour))
	appendActivity(t, s, now, other)
	n := selfhosted.ActivityMaxPerUser + 5
	var all []selfhosted.ActivityRecord
	for i := range n {
		r := activity(i, "user-1", now.Add(-time.Duration(n-i)*time.Second))
		all = append(all, r)
		appendActivity(t, s, now, r)
	}
	var want []selfhosted.ActivityRecord
	for i := n - 1; i >= n-selfhosted.ActivityMaxPerUser; i-- {
		want = append(want, all[i])
	}
	wantActivity(t, s, "user-1", now, n, want...)
	wantActivity(t, s, "user-2", now, n, other)
}

// testActivityDelete: DeleteActivity deletes every record of the user,
// and only theirs (not those of a user whose ID starts with theirs); a
// user without records is no error.
func testActivityDelete(t *testing.T, newStore activityStoreFunc) {
	s := newStore(t)
	now := anchor()
	a1 := activity(1, "user-1", now.Add(-2*time.Minute))
	a2 := activity(2, "user-1", now.Add(-time.Minute))
	b := activity(3, "user-10", now.Add(-time.Minute))
	c := activity(4, "user-2", now.Add(-time.Minute))
	appendActivity(t, s, now, a1, a2, b, c)
	if err := s.DeleteActivity(t.Context(), "user-1"); err != nil {
		t.Errorf("DeleteActivity: %v", err)
	}
	wantActivity(t, s, "user-1", now, 50)
	wantActivity(t, s, "user-10", now, 50, b)
	wantActivity(t, s, "user-2", now, 50, c)
	for _, id := range []string{"user-1", "nobody", ""} {
		if err := s.DeleteActivity(t.Context(), id); err != nil {
			t.Errorf("DeleteActivity(%q) without records: %v", id, err)
		}
	}
	// The user's next event starts a new trail.
	again := activity(5, "user-1", now)
	appendActivity(t, s, now, again)
	wantActivity(t, s, "user-1", now, 50, again)
}

func testActivityCancelledContext(t *testing.T, newStore activityStoreFunc) {
	s := newStore(t)
	now := anchor()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.AppendActivity(ctx, activity(1, "user-1", now), now); err == nil {
		t.Error("AppendActivity with a cancelled context: no error")
	}
	if _, err := s.ActivityByUser(ctx, "user-1", now, 50); err == nil {
		t.Error("ActivityByUser with a cancelled context: no error")
	}
	appendActivity(t, s, now, activity(2, "user-1", now))
	if err := s.DeleteActivity(ctx, "user-1"); err == nil {
		t.Error("DeleteActivity with a cancelled context: no error")
	}
	wantActivity(t, s, "user-1", now, 50, activity(2, "user-1", now))
}
