package codes

import (
	"context"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

// open is a fresh store and a code key kept in it.
func open(t *testing.T) (*bolt.Store, Key) {
	st := bolttest.Open(t)
	return st, secret.New(st, "secrets:test")
}

func TestIssueAndConsume(t *testing.T) {
	st, key := open(t)
	ctx := context.Background()
	code, err := Issue(ctx, st, key, "code:a", time.Minute, false, "flow", "a")
	if err != nil || !WellFormed(code) {
		t.Fatalf("Issue: %q, %v", code, err)
	}
	// Bound to its parts: the same code bound otherwise does not match
	// (and leaves it in place).
	if ok, err := Consume(ctx, st, key, "code:a", code, "flow", "b"); ok || err != nil {
		t.Fatalf("other binding: %v, %v", ok, err)
	}
	if ok, err := Consume(ctx, st, key, "code:a", "12345", "flow", "a"); ok || err != nil {
		t.Fatalf("malformed code: %v, %v", ok, err)
	}
	if ok, err := Consume(ctx, st, key, "code:a", code, "flow", "a"); !ok || err != nil {
		t.Fatalf("right code: %v, %v", ok, err)
	}
	// Used once.
	if ok, err := Consume(ctx, st, key, "code:a", code, "flow", "a"); ok || err != nil {
		t.Fatalf("second use: %v, %v", ok, err)
	}
	// A void code is stored (same work) but nothing matches it.
	code, err = Issue(ctx, st, key, "code:v", time.Minute, true, "flow", "v")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := st.Get(ctx, "code:v"); err != nil || len(v) != 64 {
		t.Fatalf("void code stored as %q, %v; want 64 bytes", v, err)
	}
	if ok, err := Consume(ctx, st, key, "code:v", code, "flow", "v"); ok || err != nil {
		t.Fatalf("void code: %v, %v", ok, err)
	}
}

func TestTry(t *testing.T) {
	st, _ := open(t)
	ctx := context.Background()
	for want := int64(1); want <= 3; want++ {
		if n, err := Try(ctx, st, "tries:a", time.Minute); err != nil || n != want {
			t.Fatalf("try %d: %d, %v", want, n, err)
		}
	}
	st.Close()
	if _, err := Try(ctx, st, "tries:a", time.Minute); err == nil {
		t.Fatal("Try on a closed store succeeded")
	}
}
