package token

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/store/bolt"
	"github.com/authgate/authgate/store/bolt/bolttest"
)

// jwksKids returns the kids published in k's JWKS.
func jwksKids(t *testing.T, k *Keyring) []string {
	t.Helper()
	var doc struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(k.JWKS(), &doc); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	var kids []string
	for _, key := range doc.Keys {
		kids = append(kids, key.Kid)
	}
	slices.Sort(kids)
	return kids
}

func storedRecord(t *testing.T, st *bolt.Store, alg string) keyRecord {
	t.Helper()
	raw, err := st.Get(context.Background(), "keys:"+alg)
	if err != nil {
		t.Fatal(err)
	}
	var rec keyRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestRotation is C-37 with a fake clock: the new key is in the JWKS before
// it signs; tokens of the old key verify until lifetime+leeway after it
// stopped signing, then fail; the old key then leaves the JWKS and, at the
// next rotation, the store.
func TestRotation(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			st := bolttest.Open(t)
			clk := testenv.NewClock(testStart)
			const (
				lifetime = 60 * time.Second
				leeway   = 5 * time.Second
				publish  = 5 * time.Minute
			)
			cfg := Config{Alg: alg, Lifetime: lifetime, Leeway: leeway, PublishDelay: publish}
			a := newLoaded(t, st, cfg, clk)
			b := newLoaded(t, st, cfg, clk) // a second instance
			ctx := context.Background()
			oldKid := activeKid(a)
			t0 := clk.Now()

			if err := a.Rotate(ctx); err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			rec := storedRecord(t, st, alg)
			if len(rec.Keys) != 2 {
				t.Fatalf("record has %d keys after rotate", len(rec.Keys))
			}
			newKid := rec.ActiveKID
			if newKid == oldKid || rec.Keys[1].KID != newKid || !rec.Keys[1].ActivateAt.Equal(t0.Add(publish)) {
				t.Fatalf("record after rotate: %+v", rec)
			}

			// Published at once, on both instances after b refreshes.
			if got := jwksKids(t, a); !slices.Equal(got, sorted(oldKid, newKid)) {
				t.Errorf("JWKS right after rotate = %v", got)
			}
			if got := jwksKids(t, b); !slices.Equal(got, []string{oldKid}) {
				t.Errorf("b's JWKS before refresh = %v", got)
			}
			if err := b.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if got := jwksKids(t, b); !slices.Equal(got, sorted(oldKid, newKid)) {
				t.Errorf("b's JWKS after refresh = %v", got)
			}

			// A second Rotate while the new key waits is a no-op.
			if err := b.Rotate(ctx); err != nil {
				t.Fatalf("second Rotate: %v", err)
			}
			if n := len(storedRecord(t, st, alg).Keys); n != 2 {
				t.Errorf("second Rotate during publish delay added a key: %d keys", n)
			}

			// Until the publish delay passes, the old key signs.
			clk.Set(t0.Add(publish - time.Second))
			lastOld, lastOldClaims := mint(t, a, baseClaims())
			if kid := headerKid(t, lastOld); kid != oldKid {
				t.Fatalf("signed with %s before activation, want old %s", kid, oldKid)
			}
			clk.Set(t0.Add(publish))
			first, _ := mint(t, b, baseClaims())
			if kid := headerKid(t, first); kid != newKid {
				t.Fatalf("signed with %s after activation, want new %s", kid, newKid)
			}
			if _, err := a.Verify(ctx, first, testIssuer); err != nil {
				t.Errorf("new-key token on a: %v", err)
			}

			// The last old token verifies until its exp (no leeway on exp), on both.
			if _, err := b.Verify(ctx, lastOld, testIssuer); err != nil {
				t.Fatalf("old token right after rotation: %v", err)
			}
			clk.Set(lastOldClaims.Expiry.Add(-time.Second))
			for _, k := range []*Keyring{a, b} {
				if _, err := k.Verify(ctx, lastOld, testIssuer); err != nil {
					t.Errorf("old token 1 s before exp: %v", err)
				}
			}
			if got := jwksKids(t, a); !slices.Equal(got, sorted(oldKid, newKid)) {
				t.Errorf("JWKS while old tokens live = %v", got)
			}
			// Stopped signing at t0+publish; dropped at t0+publish+lifetime+leeway.
			clk.Set(t0.Add(publish + lifetime + leeway))
			for _, k := range []*Keyring{a, b} {
				if _, err := k.Verify(ctx, lastOld, testIssuer); !errors.Is(err, ErrInvalidToken) {
					t.Errorf("old token after lifetime+leeway: %v", err)
				}
			}
			if got := jwksKids(t, a); !slices.Equal(got, []string{newKid}) {
				t.Errorf("JWKS after old key's grace = %v", got)
			}
			// A token signed by the old key with a forged long exp is refused
			// too: the key itself no longer verifies.
			if _, err := a.Verify(ctx, signWithKid(t, a, oldKid, clk.Now()), testIssuer); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("fresh token of the retired key: %v", err)
			}

			// The next rotation removes the retired key from the store.
			if err := a.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
			rec = storedRecord(t, st, alg)
			var kids []string
			for _, k := range rec.Keys {
				kids = append(kids, k.KID)
			}
			if len(kids) != 2 || slices.Contains(kids, oldKid) || !slices.Contains(kids, newKid) {
				t.Errorf("record after second rotation: %v", kids)
			}
			if err := b.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if _, ok := b.set.Load().byKid[oldKid]; ok {
				t.Error("b still holds the retired key after refresh")
			}
		})
	}
}

// headerKid returns the kid of a compact token.
func headerKid(t *testing.T, tok string) string {
	t.Helper()
	raw, err := b64.DecodeString(segments(t, tok)[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

// signWithKid signs a valid-looking token issued at iat with the key kid
// of k's current set (even if that key no longer verifies).
func signWithKid(t *testing.T, k *Keyring, kid string, iat time.Time) string {
	t.Helper()
	e, ok := k.set.Load().byKid[kid]
	if !ok {
		t.Fatalf("kid %s not in set", kid)
	}
	header := `{"alg":"` + k.cfg.Alg + `","kid":"` + kid + `","typ":"JWT"}`
	return signCompact(t, k.alg, header, payloadAt(t, k, iat, nil), e.priv)
}

// TestDroppedKeyClearsCache: when a key disappears from the store (here the
// record is deleted, e.g. by an operator after a leak, and recreated), its
// cached tokens stop verifying at once, before they expire.
func TestDroppedKeyClearsCache(t *testing.T) {
	st := bolttest.Open(t)
	clk := testenv.NewClock(testStart)
	k := newLoaded(t, st, Config{Alg: AlgEdDSA}, clk)
	ctx := context.Background()
	tok, _ := mint(t, k, baseClaims())
	if _, err := k.Verify(ctx, tok, testIssuer); err != nil {
		t.Fatal(err)
	}
	if k.cache.len() != 1 {
		t.Fatal("token not cached")
	}
	if err := st.Delete(ctx, "keys:EdDSA"); err != nil {
		t.Fatal(err)
	}
	if err := k.Refresh(ctx); err != nil {
		t.Fatalf("Refresh with record gone: %v", err)
	}
	if _, err := k.Verify(ctx, tok, testIssuer); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token of the dropped key still verifies: %v", err)
	}
	tok2, _ := mint(t, k, baseClaims())
	if _, err := k.Verify(ctx, tok2, testIssuer); err != nil {
		t.Errorf("token of the recreated key: %v", err)
	}
}

// TestConcurrentUse runs Verify, Mint, Refresh, Rotate and JWKS together
// (meaningful under -race): every valid token keeps verifying.
func TestConcurrentUse(t *testing.T) {
	st := bolttest.Open(t)
	clk := testenv.NewClock(testStart)
	cfg := Config{Alg: AlgEdDSA, PublishDelay: time.Second, CacheSize: 32}
	a := newLoaded(t, st, cfg, clk)
	b := newLoaded(t, st, cfg, clk)
	ctx := context.Background()
	tok, _ := mint(t, a, baseClaims())
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if _, err := b.Verify(ctx, tok, testIssuer); err != nil {
					errs <- err
					return
				}
				t2, _, err := a.Mint(ctx, baseClaims())
				if err != nil {
					errs <- err
					return
				}
				if _, err := b.Verify(ctx, t2, testIssuer); err != nil {
					errs <- err
					return
				}
				_ = a.JWKS()
			}
		})
	}
	wg.Go(func() {
		for range 5 {
			if err := a.Rotate(ctx); err != nil {
				errs <- err
				return
			}
			if err := b.Refresh(ctx); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestUnknownKidRefreshRateLimit is C-36: an unknown kid refreshes the keys
// from the store at most once per 60 s.
func TestUnknownKidRefreshRateLimit(t *testing.T) {
	st := bolttest.Open(t)
	clk := testenv.NewClock(testStart)
	cfg := Config{Alg: AlgEdDSA, PublishDelay: time.Minute}
	a := newLoaded(t, st, cfg, clk)
	b := newLoaded(t, st, cfg, clk)
	ctx := context.Background()

	// A garbage kid makes b refresh once (nothing new) and starts the window.
	if _, err := b.Verify(ctx, withHeader(t, b, `{"alg":"EdDSA","kid":"ins_nope","typ":"JWT"}`), testIssuer); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("unknown kid accepted: %v", err)
	}
	// A rotates; once the new key signs, b has not seen it.
	if err := a.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	tok, _ := mint(t, a, baseClaims())
	if activeKid(a) == activeKid(b) {
		t.Fatal("b already knows the new key")
	}
	// Within 60 s of b's last unknown-kid refresh: no refresh, rejected.
	clk.Set(clk.Now().Add(-time.Minute).Add(59 * time.Second))
	if _, err := b.Verify(ctx, tok, testIssuer); !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "unknown kid") {
		t.Fatalf("new kid within the refresh window: %v", err)
	}
	// After the window: one refresh, then accepted.
	clk.Advance(2 * time.Second)
	if _, err := b.Verify(ctx, tok, testIssuer); err != nil {
		t.Fatalf("new kid after the refresh window: %v", err)
	}
}
