package storetest

// Subtests of the time-bound operations: the Allow rate limiter and TTL
// expiry.

import (
	"fmt"
	"testing"
	"time"

	"github.com/authgate/authgate/store"
)

func testAllow(t *testing.T, s store.Store) {
	c := ctx(t)
	for i := range 3 {
		res, err := s.Allow(c, "rl:ip", 3, time.Minute)
		if err != nil {
			t.Fatalf("Allow #%d: %v", i+1, err)
		}
		if !res.Allowed || res.Remaining != 2-i || res.RetryAfter != 0 {
			t.Fatalf("Allow #%d = %+v, want allowed with %d remaining and no RetryAfter", i+1, res, 2-i)
		}
	}
	res, err := s.Allow(c, "rl:ip", 3, time.Minute)
	if err != nil {
		t.Fatalf("Allow #4: %v", err)
	}
	// GCRA: one event every 20 s refills, so the next one fits in <= 20 s.
	if res.Allowed || res.Remaining != 0 || res.RetryAfter <= 0 || res.RetryAfter > 20*time.Second {
		t.Fatalf("Allow #4 = %+v, want denied, 0 remaining, 0 < RetryAfter <= 20s", res)
	}
	// A denied event is not counted: the wait does not grow.
	res2, err := s.Allow(c, "rl:ip", 3, time.Minute)
	if err != nil || res2.Allowed || res2.RetryAfter > res.RetryAfter {
		t.Fatalf("Allow #5 = %+v, %v; want denied with RetryAfter <= %s", res2, err, res.RetryAfter)
	}
	// Another key has its own budget.
	res, err = s.Allow(c, "rl:other", 3, time.Minute)
	if err != nil || !res.Allowed || res.Remaining != 2 {
		t.Fatalf("Allow(other key) = %+v, %v; want allowed with 2 remaining", res, err)
	}
	// A limit of 1 allows exactly one.
	if res, err = s.Allow(c, "rl:one", 1, time.Hour); err != nil || !res.Allowed || res.Remaining != 0 {
		t.Fatalf("Allow(limit 1) #1 = %+v, %v; want allowed, 0 remaining", res, err)
	}
	if res, err = s.Allow(c, "rl:one", 1, time.Hour); err != nil || res.Allowed || res.RetryAfter <= 59*time.Minute {
		t.Fatalf("Allow(limit 1) #2 = %+v, %v; want denied for about an hour", res, err)
	}
	for _, bad := range []struct {
		limit  int
		period time.Duration
	}{{0, time.Minute}, {-1, time.Minute}, {3, 0}, {3, -time.Second}} {
		if res, err := s.Allow(c, "rl:bad", bad.limit, bad.period); err == nil {
			t.Fatalf("Allow(%d per %s) = %+v, nil; want an error", bad.limit, bad.period, res)
		}
	}
}

// testTTL checks expiry of every kind of key with one shared timeline:
// keys get a 3 s TTL at t0, are checked alive at ~1.5 s (a TTL kept in the
// wrong unit fails there; a halved one ends just after that check, so
// this does not catch it) and gone at ~3.6 s. Redis expires
// keys on its own clock, so the test waits for real time to pass; the
// setup has until 2.5 s, room for a loaded CI machine.
func testTTL(t *testing.T, s store.Store) {
	c := ctx(t)
	const ttl = 3 * time.Second
	t0 := time.Now()

	mustPut(t, s, "put", []byte("v"), ttl)
	mustPut(t, s, "forever", []byte("v"), 0)
	mustPut(t, s, "long", []byte("v"), time.Hour)
	if err := s.Create(c, "create", []byte("v"), ttl); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Incr(c, "ctr", ttl); err != nil || n != 1 {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	if err := s.AddMember(c, "set", "m", ttl); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(c, "set-renewed", "m1", ttl); err != nil {
		t.Fatal(err)
	}
	err := s.Update(c, "upd", func([]byte, bool) ([]byte, time.Duration, error) { return []byte("v"), ttl, nil })
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "cad", []byte("v"), ttl)
	mustPut(t, s, "{u}:idx", []byte("old"), ttl)
	mustPut(t, s, "overwritten", []byte("v"), ttl)

	time.Sleep(time.Until(t0.Add(ttl / 2)))
	if time.Since(t0) > ttl-500*time.Millisecond {
		t.Fatalf("setup took %s, too slow for a %s TTL check", time.Since(t0), ttl)
	}
	wantValue(t, s, "put", []byte("v"))
	wantValue(t, s, "create", []byte("v"))
	wantValue(t, s, "upd", []byte("v"))
	wantMembers(t, s, "set", "m")
	// Incr on a live counter keeps its TTL; AddMember renews the set's TTL;
	// Put without TTL makes a key permanent.
	if n, err := s.Incr(c, "ctr", time.Hour); err != nil || n != 2 {
		t.Fatalf("second Incr = %d, %v; want 2", n, err)
	}
	if err := s.AddMember(c, "set-renewed", "m2", time.Hour); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "overwritten", []byte("v2"), 0)

	time.Sleep(time.Until(t0.Add(ttl + 600*time.Millisecond)))
	for _, k := range []string{"put", "create", "ctr", "upd", "cad", "{u}:idx"} {
		wantNotFound(t, s, k)
	}
	wantMembers(t, s, "set")
	wantMembers(t, s, "set-renewed", "m1", "m2")
	wantValue(t, s, "forever", []byte("v"))
	wantValue(t, s, "long", []byte("v"))
	wantValue(t, s, "overwritten", []byte("v2"))

	// Expired keys behave as absent for every operation.
	if ok, err := s.CompareAndDelete(c, "cad", []byte("v")); err != nil || ok {
		t.Fatalf("CompareAndDelete on an expired key = %v, %v; want false", ok, err)
	}
	if err := s.Create(c, "create", []byte("again"), 0); err != nil {
		t.Fatalf("Create over an expired key: %v", err)
	}
	if n, err := s.Incr(c, "ctr", 0); err != nil || n != 1 {
		t.Fatalf("Incr on an expired counter = %d, %v; want 1", n, err)
	}
	err = s.Update(c, "upd", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		if exists {
			return nil, 0, fmt.Errorf("expired key seen as %q", cur)
		}
		return nil, 0, nil
	})
	if err != nil {
		t.Fatalf("Update on an expired key: %v", err)
	}
	if err := s.CreateIndexed(c, "{u}:rec", []byte("r"), map[string]string{"{u}:idx": "r"}); err != nil {
		t.Fatalf("CreateIndexed over an expired index key: %v", err)
	}
	wantValue(t, s, "{u}:idx", []byte("r"))
}
