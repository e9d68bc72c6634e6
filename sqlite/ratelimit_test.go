package sqlite_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paywall/paywall/sqlite/storetest"
)

func TestTakeToken(t *testing.T) { storetest.Each(t, testTakeToken) }

func testTakeToken(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	s, c := newStore(t, db)
	take := func(key string) (bool, time.Duration) {
		t.Helper()
		ok, wait, err := s.TakeToken(ctx, key, 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return ok, wait
	}
	for i := range 3 {
		if ok, _ := take("link:a"); !ok {
			t.Fatalf("take %d of 3: refused", i+1)
		}
	}
	ok, wait := take("link:a")
	if ok || wait != 20*time.Second {
		t.Errorf("fourth take: got %v, wait %v; want refused, wait 20s", ok, wait)
	}
	if ok, _ := take("link:b"); !ok {
		t.Error("another key: refused, want its own bucket")
	}
	c.advance(20 * time.Second)
	if ok, _ := take("link:a"); !ok {
		t.Error("after 20s: refused, want one token refilled")
	}
	if ok, _ := take("link:a"); ok {
		t.Error("after 20s, second take: allowed, want refused")
	}
	c.advance(time.Hour) // every bucket full again, so the next take sweeps them
	if ok, _ := take("link:c"); !ok {
		t.Error("after an hour: refused")
	}
	for i := range 3 {
		if ok, _ := take("link:a"); !ok {
			t.Errorf("after an hour, take %d of 3: refused, want a full bucket", i+1)
		}
	}
}

// TestTakeTokenReplicas has two stores on one database take from one
// bucket at once: the budget is the bucket's, not each process's.
func TestTakeTokenReplicas(t *testing.T) { storetest.Each(t, testTakeTokenReplicas) }

func testTakeTokenReplicas(t *testing.T, db storetest.DB) {
	ctx := context.Background()
	c := &clock{t: start}
	stores := replicas(t, db, 2, c)
	var allowed atomic.Int32
	var wg sync.WaitGroup
	for _, s := range stores {
		for range 8 {
			wg.Go(func() {
				ok, _, err := s.TakeToken(ctx, "signin_email:x", 5, time.Hour)
				if err != nil {
					t.Error(err)
				}
				if ok {
					allowed.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if got := allowed.Load(); got != 5 {
		t.Errorf("16 takes on two stores: %d allowed, want 5", got)
	}
}
