package password

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// countingHasher returns a hasher with parameters p whose hash computations
// are counted.
func countingHasher(t *testing.T, p Params, workers, queue int) (*Hasher, *atomic.Int64) {
	t.Helper()
	h := NewHasher(p, workers, queue)
	var n atomic.Int64
	h.computeHook = func() { n.Add(1) }
	return h, &n
}

// cheapParams keep tests fast where the cost parameters do not matter.
var cheapParams = Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// phcFor builds an argon2 PHC string directly, as another system would have.
func phcFor(alg, pw string, salt []byte, m, tm uint32, p uint8, keyLen uint32) string {
	var key []byte
	if alg == Argon2id {
		key = argon2.IDKey([]byte(pw), salt, tm, m, p, keyLen)
	} else {
		key = argon2.Key([]byte(pw), salt, tm, m, p, keyLen)
	}
	return PHC{Algorithm: alg, Version: argon2.Version, Memory: m, Time: tm, Threads: p, Salt: salt, Key: key}.String()
}

func mustBcrypt(t *testing.T, pw string) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("bcrypt: %v", err)
	}
	return string(b)
}

// C-12: the stored PHC string carries m=19456, t=2, p=1, a 16-byte salt and a
// 32-byte hash, and parses back to those values.
func TestHashStoresParamsInPHC(t *testing.T) {
	h := NewHasher(DefaultParams(), 1, 0)
	ctx := context.Background()
	digest, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(digest) {
		t.Fatalf("digest %q does not have the expected PHC shape", digest)
	}
	phc, err := ParsePHC(digest)
	if err != nil {
		t.Fatalf("ParsePHC: %v", err)
	}
	want := Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if got := phc.Params(); got != want || phc.Algorithm != Argon2id || phc.Version != 19 {
		t.Fatalf("parsed %+v (%s v%d), want %+v argon2id v19", got, phc.Algorithm, phc.Version, want)
	}
	if phc.String() != digest {
		t.Fatalf("re-encoded %q, want %q", phc.String(), digest)
	}
	again, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if again == digest {
		t.Fatal("two hashes of the same password are equal: salt is not random")
	}
	ok, rehash, err := h.Verify(ctx, "correct horse battery staple", digest)
	if err != nil || !ok || rehash {
		t.Fatalf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, rehash, err = h.Verify(ctx, "correct horse battery stapler", digest)
	if err != nil || ok || rehash {
		t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
	}
}

// Known answers from the reference implementation (phc-winner-argon2):
// echo -n password | argon2 somesalt -t 2 -m 16 -p 4 -l 32 -id / -l 24 -i.
func TestVerifyReferenceVectors(t *testing.T) {
	h := NewHasher(DefaultParams(), 1, 0)
	for _, digest := range []string{
		"$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo",
		"$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
	} {
		ok, rehash, err := h.Verify(context.Background(), "password", digest)
		if err != nil || !ok {
			t.Errorf("Verify(%s) = %v, %v; want match", digest, ok, err)
		}
		// Both have an 8-byte salt, below the current 16; argon2i always rehashes.
		if !rehash {
			t.Errorf("Verify(%s): needsRehash = false, want true", digest)
		}
	}
	if ok, _, _ := h.Verify(context.Background(), "Password", "$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo"); ok {
		t.Error("reference vector matched the wrong password")
	}
}

// C-13 groundwork: needsRehash is set for bcrypt, argon2i and weaker argon2id
// parameters, and only when the password matched.
func TestNeedsRehash(t *testing.T) {
	// Scaled-down parameters: the comparison logic is what is under test.
	cur := Params{Memory: 2048, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := NewHasher(cur, 2, 0)
	salt16 := []byte("0123456789abcdef")
	const pw = "tr0ub4dor&3-horse"
	tests := []struct {
		name   string
		digest string
		rehash bool
	}{
		{"current params", phcFor(Argon2id, pw, salt16, 2048, 2, 1, 32), false},
		{"stronger params", phcFor(Argon2id, pw, salt16, 4096, 3, 2, 32), false},
		{"more threads", phcFor(Argon2id, pw, salt16, 2048, 2, 4, 32), false},
		{"longer salt and key", phcFor(Argon2id, pw, []byte("0123456789abcdef0123"), 2048, 2, 1, 64), false},
		{"less memory", phcFor(Argon2id, pw, salt16, 1024, 2, 1, 32), true},
		{"fewer passes", phcFor(Argon2id, pw, salt16, 2048, 1, 1, 32), true},
		{"short salt", phcFor(Argon2id, pw, salt16[:8], 2048, 2, 1, 32), true},
		{"short key", phcFor(Argon2id, pw, salt16, 2048, 2, 1, 16), true},
		{"argon2i", phcFor(Argon2i, pw, salt16, 2048, 2, 1, 32), true},
		{"bcrypt 2a", mustBcrypt(t, pw), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), pw, tc.digest)
			if err != nil || !ok || rehash != tc.rehash {
				t.Fatalf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tc.rehash)
			}
			ok, rehash, err = h.Verify(context.Background(), pw+"!", tc.digest)
			if err != nil || ok || rehash {
				t.Fatalf("Verify(wrong) = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyBcryptVariants(t *testing.T) {
	h := NewHasher(DefaultParams(), 1, 0)
	const pw = "hunter2-but-longer"
	d := mustBcrypt(t, pw) // $2a$
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		digest := prefix + d[4:]
		if err := CheckDigest(HasherBcrypt, digest); err != nil {
			t.Errorf("CheckDigest(%s): %v", prefix, err)
		}
		ok, rehash, err := h.Verify(context.Background(), pw, digest)
		if err != nil || !ok || !rehash {
			t.Errorf("Verify(%s) = %v, %v, %v; want true, true, nil", prefix, ok, rehash, err)
		}
	}
}

// C-3: no truncation. P and P+"x" differ for P of 72 bytes and more; a bcrypt
// digest refuses passwords over 72 bytes instead of truncating them.
func TestNoTruncation(t *testing.T) {
	h := NewHasher(cheapParams, 2, 0)
	ctx := context.Background()
	for _, n := range []int{72, 73, 100, 255} {
		p := strings.Repeat("a", n)
		digest, err := h.Hash(ctx, p)
		if err != nil {
			t.Fatalf("Hash(%d bytes): %v", n, err)
		}
		if ok, _, err := h.Verify(ctx, p, digest); err != nil || !ok {
			t.Fatalf("Verify(P, %d bytes) = %v, %v; want true", n, ok, err)
		}
		if ok, _, err := h.Verify(ctx, p+"x", digest); err != nil || ok {
			t.Fatalf("Verify(P+x, %d bytes) = %v, %v; want false, nil", n, ok, err)
		}
	}

	p72 := strings.Repeat("b", 72)
	bc := mustBcrypt(t, p72)
	if ok, _, err := h.Verify(ctx, p72, bc); err != nil || !ok {
		t.Fatalf("bcrypt Verify(72 bytes) = %v, %v; want true", ok, err)
	}
	// bcrypt itself would ignore the 73rd byte and match; we must refuse.
	if bcrypt.CompareHashAndPassword([]byte(bc), []byte(p72+"x")) != nil {
		t.Fatal("precondition: bcrypt library no longer truncates; update this test")
	}
	ok, _, err := h.Verify(ctx, p72+"x", bc)
	if ok || !errors.Is(err, ErrTooLong) {
		t.Fatalf("bcrypt Verify(73 bytes) = %v, %v; want false, ErrTooLong", ok, err)
	}
}

// C-4: NFKC before hashing: "ﬁ" and "fi", composed and decomposed "é" verify
// the same.
func TestNFKC(t *testing.T) {
	h := NewHasher(cheapParams, 2, 0)
	ctx := context.Background()
	pairs := [][2]string{
		{"ﬁnancial-ﬁle-cabinet", "financial-file-cabinet"},
		{"caf\u00e9-au-lait-42", "cafe\u0301-au-lait-42"},
		{"ｆｕｌｌｗｉｄｔｈ ｐａｓｓ", "fullwidth pass"},
	}
	for _, p := range pairs {
		digest, err := h.Hash(ctx, p[0])
		if err != nil {
			t.Fatalf("Hash(%q): %v", p[0], err)
		}
		for _, form := range p {
			ok, rehash, err := h.Verify(ctx, form, digest)
			if err != nil || !ok || rehash {
				t.Errorf("Verify(%q) against hash of %q = %v, %v, %v; want true, false, nil", form, p[0], ok, rehash, err)
			}
		}
	}
}

// An imported digest of the raw, un-normalized password still verifies, and
// asks for a rehash so the stored form becomes the NFKC one.
func TestVerifyRawFallbackForImports(t *testing.T) {
	h := NewHasher(cheapParams, 2, 0)
	ctx := context.Background()
	raw := "ﬁrst-ﬂoor-oﬃce"
	salt := []byte("imported-salt-16")
	for _, digest := range []string{
		phcFor(Argon2id, raw, salt, cheapParams.Memory, cheapParams.Time, 1, 32),
		mustBcrypt(t, raw),
	} {
		ok, rehash, err := h.Verify(ctx, raw, digest)
		if err != nil || !ok || !rehash {
			t.Errorf("Verify(raw) = %v, %v, %v; want true, true, nil", ok, rehash, err)
		}
		if ok, _, _ := h.Verify(ctx, "first-floor-office", digest); ok {
			t.Errorf("the normalized form matched a digest of the raw form")
		}
	}
}

// C-5: a 1 MB password is refused with ErrTooLong before any hashing, by
// Hash, Verify and VerifyDummy alike; 256 bytes is accepted, 257 is not.
func TestOversizedPasswordNeverHashed(t *testing.T) {
	h, computed := countingHasher(t, DefaultParams(), 1, 0)
	ctx := context.Background()
	huge := strings.Repeat("x", 1<<20)
	digest := phcFor(Argon2id, "whatever", []byte("0123456789abcdef"), 64, 1, 1, 32)

	start := time.Now()
	if _, err := h.Hash(ctx, huge); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Hash(1MB) error = %v, want ErrTooLong", err)
	}
	if _, _, err := h.Verify(ctx, huge, digest); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Verify(1MB) error = %v, want ErrTooLong", err)
	}
	if err := h.VerifyDummy(ctx, huge); !errors.Is(err, ErrTooLong) {
		t.Fatalf("VerifyDummy(1MB) error = %v, want ErrTooLong", err)
	}
	if _, err := h.Hash(ctx, strings.Repeat("y", MaxPasswordBytes+1)); !errors.Is(err, ErrTooLong) {
		t.Fatalf("Hash(257 bytes) error = %v, want ErrTooLong", err)
	}
	elapsed := time.Since(start)
	if n := computed.Load(); n != 0 {
		t.Fatalf("%d hash computations for refused passwords, want 0", n)
	}
	t.Logf("four refusals took %v", elapsed)

	if _, err := h.Hash(ctx, strings.Repeat("z", MaxPasswordBytes)); err != nil {
		t.Fatalf("Hash(256 bytes): %v", err)
	}
	if n := computed.Load(); n != 1 {
		t.Fatalf("%d hash computations for a 256-byte password, want 1", n)
	}
}

func TestHashRejectsInvalidInput(t *testing.T) {
	h, computed := countingHasher(t, DefaultParams(), 1, 0)
	for _, pw := range []string{"", "bad\xffutf8-password", "nul\x00inside-password"} {
		if _, err := h.Hash(context.Background(), pw); !errors.Is(err, ErrInvalid) {
			t.Errorf("Hash(%q) error = %v, want ErrInvalid", pw, err)
		}
	}
	if computed.Load() != 0 {
		t.Fatal("invalid passwords were hashed")
	}
}

// Pool: with workers=1 and queue=1, one hash runs, one waits, a third gets
// ErrBusy at once; both admitted hashes then complete.
func TestPoolBusy(t *testing.T) {
	h := NewHasher(cheapParams, 1, 1)
	entered := make(chan struct{}, 2)
	unblock := make(chan struct{})
	h.computeHook = func() {
		entered <- struct{}{}
		<-unblock
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := h.Hash(ctx, "pool-test-password")
			errs <- err
		})
	}
	<-entered // the first is running inside the worker
	waitFor(t, func() bool { r, q := h.Stats(); return r == 1 && q == 1 })

	start := time.Now()
	_, err := h.Hash(ctx, "pool-test-password")
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("third Hash error = %v, want ErrBusy", err)
	}
	if _, _, err := h.Verify(ctx, "pool-test-password", "$2a$04$"+strings.Repeat("a", 53)); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify while saturated error = %v, want ErrBusy", err)
	}
	if err := h.VerifyDummy(ctx, "pool-test-password"); !errors.Is(err, ErrBusy) {
		t.Fatalf("VerifyDummy while saturated error = %v, want ErrBusy", err)
	}
	t.Logf("ErrBusy returned after %v", time.Since(start))

	close(unblock)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("admitted Hash failed: %v", err)
		}
	}
	if r, q := h.Stats(); r != 0 || q != 0 {
		t.Fatalf("Stats after completion = %d running, %d queued; want 0, 0", r, q)
	}
}

// A caller waiting in the queue gives up when its context ends.
func TestPoolQueueRespectsContext(t *testing.T) {
	h := NewHasher(cheapParams, 1, 4)
	unblock := make(chan struct{})
	entered := make(chan struct{}, 1)
	h.computeHook = func() {
		select {
		case entered <- struct{}{}:
			<-unblock
		default:
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "first-password-here")
		done <- err
	}()
	<-entered

	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() {
		_, err := h.Hash(ctx, "second-password-here")
		waited <- err
	}()
	waitFor(t, func() bool { _, q := h.Stats(); return q == 1 })
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued Hash error = %v, want context.Canceled", err)
	}
	if _, q := h.Stats(); q != 0 {
		t.Fatalf("queued = %d after cancellation, want 0", q)
	}
	close(unblock)
	if err := <-done; err != nil {
		t.Fatalf("running Hash: %v", err)
	}

	// A context that is already done is refused before queueing.
	if _, err := h.Hash(ctx, "third-password-here"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Hash with done context error = %v, want context.Canceled", err)
	}
}

// VerifyDummy does as many computations as a failing Verify: one, or two when
// the input is not in NFKC form.
func TestVerifyDummyMatchesVerifyWork(t *testing.T) {
	h, computed := countingHasher(t, cheapParams, 1, 0)
	ctx := context.Background()
	digest := phcFor(Argon2id, "x", []byte("0123456789abcdef"), cheapParams.Memory, cheapParams.Time, 1, 32)
	for _, pw := range []string{"plain-ascii-password", "ﬁ-ligature-password"} {
		computed.Store(0)
		if ok, _, err := h.Verify(ctx, pw, digest); err != nil || ok {
			t.Fatalf("Verify(%q) = %v, %v; want false, nil", pw, ok, err)
		}
		verifyWork := computed.Swap(0)
		if err := h.VerifyDummy(ctx, pw); err != nil {
			t.Fatalf("VerifyDummy(%q): %v", pw, err)
		}
		if dummyWork := computed.Load(); dummyWork != verifyWork || dummyWork == 0 {
			t.Fatalf("VerifyDummy(%q) did %d computations, Verify did %d", pw, dummyWork, verifyWork)
		}
	}
}

func TestBadDigests(t *testing.T) {
	h, computed := countingHasher(t, DefaultParams(), 1, 0)
	salt := base64.RawStdEncoding.EncodeToString([]byte("0123456789abcdef"))
	key := base64.RawStdEncoding.EncodeToString(make([]byte, 32))
	phc := func(alg, v, params string) string {
		return fmt.Sprintf("$%s$%s$%s$%s$%s", alg, v, params, salt, key)
	}
	bad := map[string]string{
		"empty":             "",
		"plain text":        "password",
		"argon2d":           phc("argon2d", "v=19", "m=19456,t=2,p=1"),
		"no version":        "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key,
		"version 16":        phc("argon2id", "v=16", "m=19456,t=2,p=1"),
		"missing p":         phc("argon2id", "v=19", "m=19456,t=2"),
		"repeated m":        phc("argon2id", "v=19", "m=19456,m=1,t=2,p=1"),
		"unknown param":     phc("argon2id", "v=19", "m=19456,t=2,p=1,x=3"),
		"leading zero":      phc("argon2id", "v=19", "m=019456,t=2,p=1"),
		"negative":          phc("argon2id", "v=19", "m=-1,t=2,p=1"),
		"memory too large":  phc("argon2id", "v=19", fmt.Sprintf("m=%d,t=2,p=1", MaxMemory+1)),
		"memory below 8p":   phc("argon2id", "v=19", "m=15,t=2,p=2"),
		"time zero":         phc("argon2id", "v=19", "m=19456,t=0,p=1"),
		"time too large":    phc("argon2id", "v=19", fmt.Sprintf("m=19456,t=%d,p=1", MaxTime+1)),
		"threads zero":      phc("argon2id", "v=19", "m=19456,t=2,p=0"),
		"threads 256":       phc("argon2id", "v=19", "m=19456,t=2,p=256"),
		"short salt":        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$" + key,
		"short key":         "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$AAAAAAAAAAAAAAAAAAAA",
		"bad base64":        "$argon2id$v=19$m=19456,t=2,p=1$!!!!$" + key,
		"extra field":       phc("argon2id", "v=19", "m=19456,t=2,p=1") + "$x",
		"bcrypt 2x":         "$2x$04$" + strings.Repeat("a", 53),
		"bcrypt cost 31":    "$2b$31$" + strings.Repeat("a", 53),
		"bcrypt cost 15":    "$2b$15$" + strings.Repeat("a", 53),
		"bcrypt cost 03":    "$2b$03$" + strings.Repeat("a", 53),
		"bcrypt short":      "$2b$04$" + strings.Repeat("a", 52),
		"bcrypt bad char":   "$2b$04$" + strings.Repeat("a", 52) + "!",
		"bcrypt bad cost":   "$2b$x4$" + strings.Repeat("a", 53),
		"bcrypt no dollar":  "$2b$04" + strings.Repeat("a", 54),
		"dollars only":      "$$$$$",
		"argon2 no params":  "$argon2id$v=19$$" + salt + "$" + key,
		"argon2 empty salt": "$argon2id$v=19$m=19456,t=2,p=1$$" + key,
	}
	for name, digest := range bad {
		t.Run(name, func(t *testing.T) {
			ok, _, err := h.Verify(context.Background(), "password", digest)
			if ok || !errors.Is(err, ErrBadDigest) {
				t.Fatalf("Verify = %v, %v; want false, ErrBadDigest", ok, err)
			}
			for _, hasher := range []string{HasherBcrypt, HasherArgon2id, HasherArgon2i} {
				if err := CheckDigest(hasher, digest); !errors.Is(err, ErrBadDigest) {
					t.Fatalf("CheckDigest(%s) = %v, want ErrBadDigest", hasher, err)
				}
			}
		})
	}
	if computed.Load() != 0 {
		t.Fatal("a malformed digest caused a hash computation")
	}
}

func TestCheckDigest(t *testing.T) {
	salt := []byte("0123456789abcdef")
	id := phcFor(Argon2id, "pw", salt, 64, 1, 1, 32)
	i := phcFor(Argon2i, "pw", salt, 64, 1, 1, 32)
	bc := mustBcrypt(t, "pw")
	tests := []struct {
		hasher, digest string
		ok             bool
	}{
		{HasherArgon2id, id, true},
		{HasherArgon2i, i, true},
		{HasherBcrypt, bc, true},
		{HasherArgon2i, id, false},
		{HasherArgon2id, i, false},
		{HasherBcrypt, id, false},
		{HasherArgon2id, bc, false},
		{"md5", bc, false},
		{"", id, false},
	}
	for _, tc := range tests {
		err := CheckDigest(tc.hasher, tc.digest)
		if tc.ok != (err == nil) {
			t.Errorf("CheckDigest(%q, %.20s…) = %v, want ok=%v", tc.hasher, tc.digest, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadDigest) {
			t.Errorf("CheckDigest error %v does not wrap ErrBadDigest", err)
		}
	}
}

func TestParamsValidateAndDefaults(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatalf("DefaultParams().Validate() = %v", err)
	}
	weak := []Params{
		{Memory: 19455, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 19456, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 19456, Time: 2, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 19456, Time: 2, Threads: 1, SaltLen: 8, KeyLen: 32},
		{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 16},
		{Memory: MaxMemory + 1, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 19456, Time: MaxTime + 1, Threads: 1, SaltLen: 16, KeyLen: 32},
	}
	for _, p := range weak {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want error", p)
		}
	}
	if got := NewHasher(Params{}, 0, 0).Params(); got != DefaultParams() {
		t.Fatalf("NewHasher(Params{}).Params() = %+v, want defaults", got)
	}
	// Cheap parameters are allowed (for tests) and still produce verifiable hashes.
	cheap := NewHasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1, 0)
	d, err := cheap.Hash(context.Background(), "cheap-but-fine")
	if err != nil || !strings.HasPrefix(d, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("cheap Hash = %q, %v", d, err)
	}
	// A default hasher flags the cheap digest for rehash.
	ok, rehash, err := NewHasher(DefaultParams(), 1, 0).Verify(context.Background(), "cheap-but-fine", d)
	if err != nil || !ok || !rehash {
		t.Fatalf("Verify(cheap digest) = %v, %v, %v; want true, true, nil", ok, rehash, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
