package loginmemo

import (
	"context"
	"testing"
)

func TestMemo(t *testing.T) {
	bare := context.Background()
	Put(bare, "u1", 1)
	if v, ok := Take(bare, "u1"); ok {
		t.Errorf("Take without a slot = %v, true", v)
	}
	ctx := With(bare)
	if _, ok := Take(ctx, "u1"); ok {
		t.Error("Take of an empty slot succeeded")
	}
	Put(ctx, "u1", 1)
	if _, ok := Take(ctx, "u2"); ok {
		t.Error("Take for another user succeeded")
	}
	if v, ok := Take(ctx, "u1"); !ok || v != 1 {
		t.Errorf("Take = %v, %v; want 1, true", v, ok)
	}
	if _, ok := Take(ctx, "u1"); ok {
		t.Error("a second Take succeeded; Take empties the slot")
	}
	if _, ok := Take(With(ctx), "u1"); ok {
		t.Error("a new slot is not empty")
	}
}
