package bolt

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t) })
}

// openTest opens a store in a directory Open must create, closed when tb
// ends (Close is idempotent, so callers that close it too are fine).
func openTest(tb testing.TB, opts ...Option) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "db", "authgate.db"), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "authgate.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != path {
		t.Fatalf("Path() = %q, want %q", s.Path(), path)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Dir(dir): 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("mode of %s = %o, want %o", p, got, want)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(""); err == nil {
		t.Fatal("Open(\"\") succeeded")
	}
	// A file that is not a bbolt database.
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database ", 1000)), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(junk); err == nil {
		s.Close()
		t.Fatal("Open of a junk file succeeded")
	}
	// A parent that is a file, not a directory.
	if _, err := Open(filepath.Join(junk, "x.db")); err == nil {
		t.Fatal("Open under a regular file succeeded")
	}
}

func TestOpenUnknownVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyVersion, []byte("99"))
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = Open(path)
	if err == nil || !strings.Contains(err.Error(), "version") {
		t.Fatalf("Open of a version 99 file = %v, want a version error", err)
	}
}

func TestOpenLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locked.db")
	first, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	second, err := Open(path)
	if err == nil {
		second.Close()
		t.Fatal("second Open of a locked file succeeded")
	}
	if !strings.Contains(err.Error(), "locked by another process") || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("second Open = %v, want a clear lock error wrapping ErrUnavailable", err)
	}
}

func TestSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "persist.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateIndexed(ctx, "{u}:user:1", []byte("rec"), map[string]string{"{u}:email:a": "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Incr(ctx, "n", 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, "set", "m", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Allow(ctx, "rl", 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for k, want := range map[string]string{"k": "v", "{u}:user:1": "rec", "{u}:email:a": "1", "n": "1"} {
		got, err := s.Get(ctx, k)
		if err != nil || string(got) != want {
			t.Errorf("after reopen Get(%q) = %q, %v; want %q", k, got, err, want)
		}
	}
	if m, err := s.Members(ctx, "set"); err != nil || len(m) != 1 || m[0] != "m" {
		t.Errorf("after reopen Members = %q, %v", m, err)
	}
	if res, err := s.Allow(ctx, "rl", 1, time.Hour); err != nil || res.Allowed {
		t.Errorf("after reopen Allow = %+v, %v; want the limit state kept (denied)", res, err)
	}
}

func TestClockExpiryAndSweep(t *testing.T) {
	ctx := context.Background()
	clk := testenv.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := openTest(t, WithClock(clk.Now), WithSweepInterval(0))

	if err := s.Put(ctx, "short", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "forever", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, "set", "m", time.Minute); err != nil {
		t.Fatal(err)
	}
	// One event of 3 per 3 minutes keeps rate state for exactly a minute.
	if _, err := s.Allow(ctx, "rl", 3, 3*time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Second)
	if _, err := s.Get(ctx, "short"); err != nil {
		t.Fatalf("Get before expiry: %v", err)
	}
	if n, err := s.sweep(); err != nil || n != 0 {
		t.Fatalf("sweep before expiry = %d, %v; want 0", n, err)
	}
	clk.Advance(time.Second)
	if _, err := s.Get(ctx, "short"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get at expiry = %v, want ErrNotFound", err)
	}
	// The expired key is still in the file until the sweeper runs.
	if n := rawCount(t, s); n != 4 {
		t.Fatalf("raw keys before sweep = %d, want 4", n)
	}
	if n, err := s.sweep(); err != nil || n != 3 {
		t.Fatalf("sweep = %d, %v; want 3 (value, set, rate state)", n, err)
	}
	if n := rawCount(t, s); n != 1 {
		t.Fatalf("raw keys after sweep = %d, want 1", n)
	}
	if _, err := s.Get(ctx, "forever"); err != nil {
		t.Fatalf("Get(forever) after sweep: %v", err)
	}
}

func TestSweepManyBatches(t *testing.T) {
	ctx := context.Background()
	clk := testenv.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := openTest(t, WithClock(clk.Now), WithSweepInterval(0))
	const n = 2*sweepBatch + 17
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketKV)
		for i := range n {
			if err := put(b, "k"+strconv.Itoa(i), clk.Now().Add(time.Second).UnixNano(), []byte("v")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "keep", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	if got, err := s.sweep(); err != nil || got != n {
		t.Fatalf("sweep = %d, %v; want %d", got, err, n)
	}
	if got := rawCount(t, s); got != 1 {
		t.Fatalf("raw keys after sweep = %d, want 1", got)
	}
}

func TestBackgroundSweeper(t *testing.T) {
	ctx := context.Background()
	clk := testenv.NewClock(time.Now())
	s := openTest(t, WithClock(clk.Now), WithSweepInterval(10*time.Millisecond))
	if err := s.Put(ctx, "k", []byte("v"), time.Second); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for rawCount(t, s) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("background sweeper did not delete the expired key within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Close stops the sweeper and returns promptly.
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
}

func TestAllowGCRARefill(t *testing.T) {
	ctx := context.Background()
	clk := testenv.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s := openTest(t, WithClock(clk.Now), WithSweepInterval(0))
	allow := func() store.RateResult {
		t.Helper()
		res, err := s.Allow(ctx, "rl", 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for range 3 {
		if !allow().Allowed {
			t.Fatal("burst of 3 not allowed")
		}
	}
	res := allow()
	if res.Allowed || res.RetryAfter != 20*time.Second {
		t.Fatalf("4th = %+v, want denied with RetryAfter 20s", res)
	}
	clk.Advance(19 * time.Second)
	if res := allow(); res.Allowed || res.RetryAfter != time.Second {
		t.Fatalf("after 19s = %+v, want denied with RetryAfter 1s", res)
	}
	clk.Advance(time.Second)
	if res := allow(); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("after 20s = %+v, want allowed with 0 remaining", res)
	}
	// After a full idle period the whole burst is back.
	clk.Advance(time.Minute)
	if res := allow(); !res.Allowed || res.Remaining != 2 {
		t.Fatalf("after a minute idle = %+v, want allowed with 2 remaining", res)
	}
}

func TestContextCanceled(t *testing.T) {
	s := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Put(ctx, "k", []byte("v"), 0)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put with a canceled context = %v", err)
	}
}

func TestUpdateCalledOnce(t *testing.T) {
	s := openTest(t)
	calls := 0
	err := s.Update(context.Background(), "k", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		calls++
		return []byte("v"), -time.Second, nil
	})
	if err == nil {
		t.Fatal("Update with a negative ttl succeeded")
	}
	if calls != 1 {
		t.Fatalf("fn called %d times, want 1", calls)
	}
	if _, err := s.Get(context.Background(), "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after a failed Update = %v, want ErrNotFound", err)
	}
}

func rawCount(t *testing.T, s *Store) int {
	t.Helper()
	n := 0
	err := s.db.View(func(tx *bbolt.Tx) error {
		for _, name := range dataBuckets {
			n += tx.Bucket(name).Stats().KeyN
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func BenchmarkBolt(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return openTest(b) })
}
