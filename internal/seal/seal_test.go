package seal

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/store/storetest"
)

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func ring(t *testing.T, keys ...[]byte) *Keyring {
	t.Helper()
	r, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSealOpen(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	r := ring(t, k1)
	box, err := r.Seal("secrets:a", []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(box, []byte("hello")) || !IsSealed(box) {
		t.Fatalf("sealed value %q shows the plaintext or lacks the format", box)
	}
	plain, current, err := r.Open("secrets:a", box)
	if err != nil || !current || string(plain) != "hello" {
		t.Fatalf("Open = %q, %v, %v", plain, current, err)
	}
	if _, _, err := r.Open("secrets:b", box); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a value moved to another key opened: %v", err)
	}
	tampered := append([]byte(nil), box...)
	tampered[len(tampered)-3] ^= 1
	if _, _, err := r.Open("secrets:a", tampered); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("tampered value: %v", err)
	}
	if _, _, err := ring(t, k2).Open("secrets:a", box); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("other key: %v, want ErrKeyMismatch", err)
	}
	// Rotation: the new key first, the old one behind it.
	plain, current, err = ring(t, k2, k1).Open("secrets:a", box)
	if err != nil || current || string(plain) != "hello" {
		t.Fatalf("previous key: %q, current=%v, %v", plain, current, err)
	}
	if plain, current, err := r.Open("x", []byte("legacy")); err != nil || current || string(plain) != "legacy" {
		t.Fatalf("unsealed value: %q %v %v", plain, current, err)
	}
	for _, bad := range []string{"agseal1.", "agseal1.zz.", "agseal1.0011223344.AAAA", "agseal1.00112233.!!"} {
		if _, _, err := r.Open("secrets:a", []byte(bad)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Open(%q) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func TestParseKey(t *testing.T) {
	k := newKey(t)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		got, err := ParseKey(" " + enc.EncodeToString(k) + "\n")
		if err != nil || !bytes.Equal(got, k) {
			t.Fatalf("ParseKey: %v", err)
		}
	}
	secret := "c2hvcnQ" // "short"
	if _, err := ParseKey(secret); err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("short key: %v (must fail without quoting the value)", err)
	}
	if _, err := ParseKey("not base64 at all!"); err == nil || strings.Contains(err.Error(), "at all") {
		t.Fatalf("non-base64 key: %v", err)
	}
	if _, err := NewKeyring(); err == nil {
		t.Fatal("NewKeyring without keys succeeded")
	}
	if _, err := NewKeyring([]byte("short")); err == nil {
		t.Fatal("NewKeyring with a short key succeeded")
	}
}

func isSecret(k string) bool { return strings.HasPrefix(k, "secrets:") }

func openBolt(t *testing.T) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "authgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// The wrapper keeps every store contract.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return Wrap(openBolt(t), ring(t, newKey(t)), isSecret, nil)
	})
}

func TestStoreSealsSecretsAtRest(t *testing.T) {
	ctx := context.Background()
	raw := openBolt(t)
	k1, k2 := newKey(t), newKey(t)
	s := Wrap(raw, ring(t, k1), isSecret, nil)
	if err := s.Create(ctx, "secrets:a", []byte("key-material-a"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, "plain", []byte("visible"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, "secrets:b", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		return []byte("key-material-b"), 0, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"secrets:a", "secrets:b"} {
		at, err := raw.Get(ctx, k)
		if err != nil || !IsSealed(at) || bytes.Contains(at, []byte("key-material")) {
			t.Fatalf("%s at rest = %q, %v", k, at, err)
		}
	}
	if at, _ := raw.Get(ctx, "plain"); string(at) != "visible" {
		t.Fatalf("non-secret was changed: %q", at)
	}
	if got, err := s.Get(ctx, "secrets:a"); err != nil || string(got) != "key-material-a" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	// Update sees the opened value.
	if err := s.Update(ctx, "secrets:b", func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		if string(cur) != "key-material-b" {
			t.Errorf("Update saw %q", cur)
		}
		return cur, 0, nil
	}); err != nil {
		t.Fatal(err)
	}

	// A wrong key is a clear error, never a silent new value.
	if _, err := Wrap(raw, ring(t, k2), isSecret, nil).Get(ctx, "secrets:a"); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("wrong key: %v", err)
	}

	// Rotation: k2 first, k1 behind it. Reading re-seals with k2.
	rotated := Wrap(raw, ring(t, k2, k1), isSecret, nil)
	if got, err := rotated.Get(ctx, "secrets:a"); err != nil || string(got) != "key-material-a" {
		t.Fatalf("rotated Get = %q, %v", got, err)
	}
	if _, err := Wrap(raw, ring(t, k2), isSecret, nil).Get(ctx, "secrets:a"); err != nil {
		t.Fatalf("after a read under the new key, the old key is not needed: %v", err)
	}
	// Rewrap does the rest at once, and only once.
	if n, err := rotated.Rewrap(ctx, []string{"secrets:a", "secrets:b", "secrets:absent"}); err != nil || n != 1 {
		t.Fatalf("Rewrap = %d, %v; want 1 (secrets:b)", n, err)
	}
	if n, err := rotated.Rewrap(ctx, []string{"secrets:a", "secrets:b"}); err != nil || n != 0 {
		t.Fatalf("second Rewrap = %d, %v; want 0", n, err)
	}
	if got, err := Wrap(raw, ring(t, k2), isSecret, nil).Get(ctx, "secrets:b"); err != nil || string(got) != "key-material-b" {
		t.Fatalf("secrets:b under the new key alone = %q, %v", got, err)
	}
}

func TestStoreSealsLegacyPlaintext(t *testing.T) {
	ctx := context.Background()
	raw := openBolt(t)
	if err := raw.Put(ctx, "secrets:old", []byte("from-before"), 0); err != nil {
		t.Fatal(err)
	}
	s := Wrap(raw, ring(t, newKey(t)), isSecret, nil)
	if got, err := s.Get(ctx, "secrets:old"); err != nil || string(got) != "from-before" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	if at, _ := raw.Get(ctx, "secrets:old"); !IsSealed(at) {
		t.Fatalf("legacy secret not sealed after its first read: %q", at)
	}
}

func TestKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "authgate.db.key")
	k1, err := KeyFile(path)
	if err != nil || len(k1) != KeySize {
		t.Fatalf("KeyFile = %d bytes, %v", len(k1), err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	k2, err := KeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("second KeyFile returned another key: %v", err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := KeyFile(path); err == nil {
		t.Fatal("a malformed key file was accepted")
	}
}
