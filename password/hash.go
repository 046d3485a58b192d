// Package password hashes and verifies passwords (argon2id in PHC strings, with
// imported argon2i and bcrypt digests verified and flagged for rehash), applies
// the password policy (length, identifiers, breach check) and bounds the CPU and
// memory spent on hashing with a small worker pool.
//
// Passwords are NFKC-normalized before hashing, so visually identical inputs
// (for example "ﬁ" and "fi") verify the same. Inputs over MaxPasswordBytes are
// refused before any work is done. Nothing in this package logs passwords.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// MaxPasswordBytes is the hard cap on the size of a password, in bytes of the
// input as received. Longer inputs are never normalized or hashed.
const MaxPasswordBytes = 256

// MaxBcryptPasswordBytes is the longest password a bcrypt digest can verify.
// bcrypt silently ignores bytes past 72; this package refuses such passwords
// instead of truncating them.
const MaxBcryptPasswordBytes = 72

// Limits on the parameters of digests this package computes or verifies. They
// bound the memory and CPU one verification can take, so an imported digest
// cannot turn a sign-in into a denial of service.
const (
	// MaxMemory is the largest argon2 memory parameter accepted, in KiB (256 MiB).
	MaxMemory = 256 * 1024
	// MaxTime is the largest argon2 iteration count accepted.
	MaxTime = 16
	// MaxThreads is the largest argon2 parallelism accepted.
	MaxThreads = 64
	// MaxBcryptCost is the largest bcrypt cost accepted (2^14 rounds).
	MaxBcryptCost = 14
	// MinSaltLen and MaxSaltLen bound the salt length of argon2 digests, in bytes.
	MinSaltLen, MaxSaltLen = 8, 64
	// MinKeyLen and MaxKeyLen bound the hash length of argon2 digests, in bytes.
	MinKeyLen, MaxKeyLen = 16, 128
)

// Params are the argon2id parameters used for new hashes.
type Params struct {
	// Memory is the memory cost in KiB.
	Memory uint32
	// Time is the number of passes over the memory.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen is the length of the random salt in bytes.
	SaltLen uint32
	// KeyLen is the length of the derived hash in bytes.
	KeyLen uint32
}

// DefaultParams returns the OWASP-recommended argon2id parameters:
// m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte hash.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Validate reports whether p meets the security floor (DefaultParams, field by
// field) and stays within the package limits. Configuration should call it;
// NewHasher itself accepts weaker parameters so tests can hash cheaply.
func (p Params) Validate() error {
	floor := DefaultParams()
	switch {
	case p.Memory < floor.Memory:
		return fmt.Errorf("argon2id memory %d KiB is below the minimum %d KiB", p.Memory, floor.Memory)
	case p.Memory > MaxMemory:
		return fmt.Errorf("argon2id memory %d KiB exceeds the maximum %d KiB", p.Memory, MaxMemory)
	case p.Time < floor.Time:
		return fmt.Errorf("argon2id time %d is below the minimum %d", p.Time, floor.Time)
	case p.Time > MaxTime:
		return fmt.Errorf("argon2id time %d exceeds the maximum %d", p.Time, MaxTime)
	case p.Threads < floor.Threads:
		return fmt.Errorf("argon2id threads %d is below the minimum %d", p.Threads, floor.Threads)
	case p.Threads > MaxThreads:
		return fmt.Errorf("argon2id threads %d exceeds the maximum %d", p.Threads, MaxThreads)
	case p.SaltLen < floor.SaltLen || p.SaltLen > MaxSaltLen:
		return fmt.Errorf("argon2id salt length %d is outside %d..%d bytes", p.SaltLen, floor.SaltLen, MaxSaltLen)
	case p.KeyLen < floor.KeyLen || p.KeyLen > MaxKeyLen:
		return fmt.Errorf("argon2id key length %d is outside %d..%d bytes", p.KeyLen, floor.KeyLen, MaxKeyLen)
	}
	return nil
}

// sanitize replaces zero fields with defaults and clamps the rest into the
// range argon2 can compute within the package limits.
func (p Params) sanitize() Params {
	d := DefaultParams()
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	p.Memory = min(max(p.Memory, 8*uint32(p.Threads)), MaxMemory)
	p.Time = min(p.Time, MaxTime)
	p.Threads = min(p.Threads, MaxThreads)
	p.SaltLen = min(max(p.SaltLen, MinSaltLen), MaxSaltLen)
	p.KeyLen = min(max(p.KeyLen, MinKeyLen), MaxKeyLen)
	return p
}

// Hasher hashes and verifies passwords in a bounded worker pool: at most
// Workers computations run at once and at most Queue callers wait for a
// worker; any further caller gets ErrBusy at once. Peak hashing memory is thus
// about Workers × Memory (at worst Workers × MaxMemory while verifying
// imported digests with a larger m). A Hasher is safe for concurrent use.
type Hasher struct {
	params   Params
	slots    chan struct{}
	queueMax int64
	queued   atomic.Int64

	// dummySalt and dummyKey make VerifyDummy cost the same as a real verify.
	dummySalt []byte
	dummyKey  []byte

	// computeHook, when set (tests only), runs inside a worker slot before
	// each hash computation.
	computeHook func()
}

// NewHasher returns a Hasher that hashes new passwords with p. Zero fields of p
// take their DefaultParams value; values beyond the package limits are clamped.
// NewHasher does not enforce the security floor (see Params.Validate).
// workers <= 0 means runtime.NumCPU(); queue is the number of callers allowed
// to wait for a worker (<= 0: none wait, excess callers get ErrBusy).
func NewHasher(p Params, workers, queue int) *Hasher {
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	if queue < 0 {
		queue = 0
	}
	p = p.sanitize()
	h := &Hasher{
		params:    p,
		slots:     make(chan struct{}, workers),
		queueMax:  int64(queue),
		dummySalt: make([]byte, p.SaltLen),
		dummyKey:  make([]byte, p.KeyLen),
	}
	// crypto/rand.Read never fails on supported platforms (Go 1.24+).
	_, _ = rand.Read(h.dummySalt)
	_, _ = rand.Read(h.dummyKey)
	return h
}

// Params returns the parameters used for new hashes.
func (h *Hasher) Params() Params { return h.params }

// Stats returns how many hash computations are running and how many callers
// are waiting for a worker, for metrics.
func (h *Hasher) Stats() (running, queued int) {
	return len(h.slots), int(h.queued.Load())
}

// acquire takes a worker slot, waiting in the queue if there is room. The
// returned function releases the slot.
func (h *Hasher) acquire(ctx context.Context) (func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("acquire hashing worker: %w", err)
	}
	select {
	case h.slots <- struct{}{}:
		return h.release, nil
	default:
	}
	for {
		q := h.queued.Load()
		if q >= h.queueMax {
			return nil, ErrBusy
		}
		if h.queued.CompareAndSwap(q, q+1) {
			break
		}
	}
	defer h.queued.Add(-1)
	select {
	case h.slots <- struct{}{}:
		if err := ctx.Err(); err != nil {
			h.release()
			return nil, fmt.Errorf("acquire hashing worker: %w", err)
		}
		return h.release, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for hashing worker: %w", ctx.Err())
	}
}

func (h *Hasher) release() { <-h.slots }

// checkInput applies the checks every password goes through before any work.
func checkInput(pw string) error {
	if len(pw) > MaxPasswordBytes {
		return fmt.Errorf("password of %d bytes exceeds %d bytes: %w", len(pw), MaxPasswordBytes, ErrTooLong)
	}
	return nil
}

// Hash returns the PHC string of the argon2id hash of the NFKC form of pw,
// with a fresh random salt. It refuses passwords over MaxPasswordBytes
// (ErrTooLong) and empty, invalid UTF-8 or NUL-containing ones (ErrInvalid).
// It returns ErrBusy when the pool is saturated and the context's error when
// ctx ends while waiting.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	if err := checkInput(pw); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	if pw == "" || !utf8.ValidString(pw) || strings.IndexByte(pw, 0) >= 0 {
		return "", fmt.Errorf("hash password: %w", ErrInvalid)
	}
	normalized := norm.NFKC.String(pw)
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	defer release()
	h.hook()
	p := h.params
	key := argon2.IDKey([]byte(normalized), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return PHC{
		Algorithm: Argon2id, Version: argon2.Version,
		Memory: p.Memory, Time: p.Time, Threads: p.Threads,
		Salt: salt, Key: key,
	}.String(), nil
}

func (h *Hasher) hook() {
	if h.computeHook != nil {
		h.computeHook()
	}
}

// candidate is one form of a password to try against a digest.
type candidate struct {
	pw  string
	raw bool // the un-normalized input, differing from its NFKC form
}

// candidates returns the forms of pw to try: the NFKC form first, then the
// raw input if it differs (digests imported from systems that did not
// normalize).
func candidates(pw string) []candidate {
	normalized := norm.NFKC.String(pw)
	if normalized == pw {
		return []candidate{{pw: normalized}}
	}
	return []candidate{{pw: normalized}, {pw: pw, raw: true}}
}

// Verify reports whether pw matches digest, an argon2id or argon2i PHC string
// (any parameters within the package limits) or a bcrypt digest ($2a$, $2b$,
// $2y$). The NFKC form of pw is tried first; if it differs from pw and does not
// match, the raw form is tried too. needsRehash is true, only when ok, if the
// digest is bcrypt or argon2i, has parameters weaker than the hasher's, or
// matched only in raw form: the caller should then store a fresh Hash.
//
// Errors: ErrTooLong (over MaxPasswordBytes, or over 72 bytes against a bcrypt
// digest, which is refused rather than truncated), ErrBadDigest, ErrBusy, or
// the context's error. Comparison is constant-time.
func (h *Hasher) Verify(ctx context.Context, pw, digest string) (ok, needsRehash bool, err error) {
	if err := checkInput(pw); err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	d, err := parseDigest(digest)
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	cands := candidates(pw)
	if d.bcrypt != nil {
		fit := cands[:0:0]
		for _, c := range cands {
			if len(c.pw) <= MaxBcryptPasswordBytes {
				fit = append(fit, c)
			}
		}
		if len(fit) == 0 {
			return false, false, fmt.Errorf("verify password: bcrypt digests verify at most %d bytes: %w", MaxBcryptPasswordBytes, ErrTooLong)
		}
		cands = fit
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, fmt.Errorf("verify password: %w", err)
	}
	defer release()
	for _, c := range cands {
		h.hook()
		if d.matches(c.pw) {
			return true, c.raw || h.needsRehash(d), nil
		}
	}
	return false, false, nil
}

// VerifyDummy does the same work as Verify against a current-parameter
// argon2id digest and never matches. Call it for unknown accounts so that
// their response time matches a wrong password for a known one. It returns the
// same errors Verify would (ErrTooLong, ErrBusy, the context's error) so the
// caller can answer exactly as it would for a known account.
func (h *Hasher) VerifyDummy(ctx context.Context, pw string) error {
	if err := checkInput(pw); err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	cands := candidates(pw)
	release, err := h.acquire(ctx)
	if err != nil {
		return fmt.Errorf("verify password: %w", err)
	}
	defer release()
	p := h.params
	for _, c := range cands {
		h.hook()
		key := argon2.IDKey([]byte(c.pw), h.dummySalt, p.Time, p.Memory, p.Threads, p.KeyLen)
		subtle.ConstantTimeCompare(key, h.dummyKey)
	}
	return nil
}

// needsRehash reports whether a matching digest should be replaced by a hash
// with the current parameters.
func (h *Hasher) needsRehash(d parsedDigest) bool {
	if d.bcrypt != nil || d.phc.Algorithm != Argon2id {
		return true
	}
	p := h.params
	return d.phc.Memory < p.Memory || d.phc.Time < p.Time ||
		uint32(len(d.phc.Salt)) < p.SaltLen || uint32(len(d.phc.Key)) < p.KeyLen
}

// Hasher names accepted by CheckDigest (Clerk's password_hasher values).
const (
	HasherBcrypt   = "bcrypt"
	HasherArgon2id = Argon2id
	HasherArgon2i  = Argon2i
)

// CheckDigest validates an imported digest before it is stored: hasher is
// "bcrypt", "argon2id" or "argon2i" and digest must be well-formed for it and
// within the package limits (so that it can later be verified). Errors wrap
// ErrBadDigest.
func CheckDigest(hasher, digest string) error {
	d, err := parseDigest(digest)
	if err != nil {
		return fmt.Errorf("check %s digest: %w", hasher, err)
	}
	kind := HasherBcrypt
	if d.bcrypt == nil {
		kind = d.phc.Algorithm
	}
	switch hasher {
	case HasherBcrypt, HasherArgon2id, HasherArgon2i:
	default:
		return fmt.Errorf("check digest: unsupported hasher %q: %w", hasher, ErrBadDigest)
	}
	if kind != hasher {
		return fmt.Errorf("check %s digest: digest is %s: %w", hasher, kind, ErrBadDigest)
	}
	return nil
}

// parsedDigest is a digest ready to verify: either a PHC or a bcrypt digest.
type parsedDigest struct {
	phc    PHC
	bcrypt []byte
}

func parseDigest(s string) (parsedDigest, error) {
	if strings.HasPrefix(s, "$2") {
		b, err := parseBcrypt(s)
		if err != nil {
			return parsedDigest{}, err
		}
		return parsedDigest{bcrypt: b}, nil
	}
	phc, err := ParsePHC(s)
	if err != nil {
		return parsedDigest{}, err
	}
	return parsedDigest{phc: phc}, nil
}

// matches computes the digest's hash of pw and compares in constant time.
func (d parsedDigest) matches(pw string) bool {
	if d.bcrypt != nil {
		return bcrypt.CompareHashAndPassword(d.bcrypt, []byte(pw)) == nil
	}
	p := d.phc
	var key []byte
	switch p.Algorithm {
	case Argon2id:
		key = argon2.IDKey([]byte(pw), p.Salt, p.Time, p.Memory, p.Threads, uint32(len(p.Key)))
	case Argon2i:
		key = argon2.Key([]byte(pw), p.Salt, p.Time, p.Memory, p.Threads, uint32(len(p.Key)))
	default:
		return false
	}
	return subtle.ConstantTimeCompare(key, p.Key) == 1
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt validates a modular-crypt bcrypt digest: $2a$, $2b$ or $2y$, a
// two-digit cost within 4..MaxBcryptCost, and 53 characters of salt and hash.
func parseBcrypt(s string) ([]byte, error) {
	if len(s) != 60 {
		return nil, fmt.Errorf("bcrypt digest has %d characters, want 60: %w", len(s), ErrBadDigest)
	}
	switch s[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return nil, fmt.Errorf("unsupported bcrypt variant: %w", ErrBadDigest)
	}
	if s[6] != '$' || s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' {
		return nil, fmt.Errorf("bcrypt digest has a malformed cost: %w", ErrBadDigest)
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return nil, fmt.Errorf("bcrypt cost %d is outside %d..%d: %w", cost, bcrypt.MinCost, MaxBcryptCost, ErrBadDigest)
	}
	for i := 7; i < len(s); i++ {
		if strings.IndexByte(bcryptAlphabet, s[i]) < 0 {
			return nil, fmt.Errorf("bcrypt digest has a character outside its alphabet: %w", ErrBadDigest)
		}
	}
	if _, err := bcrypt.Cost([]byte(s)); err != nil {
		return nil, fmt.Errorf("bcrypt digest: %v: %w", err, ErrBadDigest)
	}
	return []byte(s), nil
}
