package password

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2 algorithm identifiers as they appear in PHC strings.
const (
	Argon2id = "argon2id"
	Argon2i  = "argon2i"
)

// PHC is a parsed argon2 PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> with salt and hash in standard
// base64 without padding.
type PHC struct {
	// Algorithm is Argon2id or Argon2i.
	Algorithm string
	// Version is the argon2 version; only 19 (0x13) is supported.
	Version int
	// Memory is the memory cost in KiB (m).
	Memory uint32
	// Time is the number of passes (t).
	Time uint32
	// Threads is the parallelism (p).
	Threads uint8
	// Salt is the decoded salt.
	Salt []byte
	// Key is the decoded hash.
	Key []byte
}

// String encodes p as a PHC string.
func (p PHC) String() string {
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s",
		p.Algorithm, p.Version, p.Memory, p.Time, p.Threads,
		enc.EncodeToString(p.Salt), enc.EncodeToString(p.Key))
}

// Params returns the parameters stored in p.
func (p PHC) Params() Params {
	return Params{
		Memory: p.Memory, Time: p.Time, Threads: p.Threads,
		SaltLen: uint32(len(p.Salt)), KeyLen: uint32(len(p.Key)),
	}
}

// ParsePHC parses an argon2id or argon2i PHC string and checks its parameters
// against the package limits (MaxMemory, MaxTime, MaxThreads, salt and key
// lengths). The m, t and p parameters may appear in any order. Errors wrap
// ErrBadDigest.
func ParsePHC(s string) (PHC, error) {
	var p PHC
	parts := strings.Split(s, "$")
	if err := checkPHCShape(parts); err != nil {
		return p, err
	}
	if err := p.parseAlgVersion(parts[1], parts[2]); err != nil {
		return p, err
	}
	if err := p.parseParams(parts[3]); err != nil {
		return p, err
	}
	var err error
	if p.Salt, err = decodeB64(parts[4]); err != nil {
		return p, fmt.Errorf("argon2 salt: %w", err)
	}
	if p.Key, err = decodeB64(parts[5]); err != nil {
		return p, fmt.Errorf("argon2 hash: %w", err)
	}
	if err := p.checkLimits(); err != nil {
		return p, err
	}
	return p, nil
}

// checkPHCShape wants "$alg$v=..$params$salt$hash" split on '$'. A
// five-part argon2 string is the pre-1.3 format without v=, which gets its
// own message because "not a PHC string" would mislead whoever migrates it.
func checkPHCShape(parts []string) error {
	if len(parts) == 6 && parts[0] == "" {
		return nil
	}
	if len(parts) == 5 && parts[0] == "" && strings.HasPrefix(parts[1], "argon2") {
		return fmt.Errorf("argon2 digest without version (v=16) is not supported: %w", ErrBadDigest)
	}
	return fmt.Errorf("digest is not a PHC string: %w", ErrBadDigest)
}

// parseAlgVersion accepts argon2id and argon2i at version 19 only.
func (p *PHC) parseAlgVersion(alg, version string) error {
	switch alg {
	case Argon2id, Argon2i:
		p.Algorithm = alg
	default:
		return fmt.Errorf("unsupported digest algorithm: %w", ErrBadDigest)
	}
	if version != "v="+strconv.Itoa(argon2.Version) {
		return fmt.Errorf("unsupported argon2 version %q: %w", version, ErrBadDigest)
	}
	p.Version = argon2.Version
	return nil
}

// parseParams sets m, t and p from "m=..,t=..,p=..", in any order, each
// exactly once, so that one digest cannot be read two ways.
func (p *PHC) parseParams(s string) error {
	var seenM, seenT, seenP bool
	for kv := range strings.SplitSeq(s, ",") {
		k, n, err := parseParam(kv)
		if err != nil {
			return err
		}
		switch {
		case k == "m" && !seenM:
			seenM, p.Memory = true, uint32(n)
		case k == "t" && !seenT:
			seenT, p.Time = true, uint32(n)
		case k == "p" && !seenP:
			if n > 255 {
				return fmt.Errorf("argon2 parallelism %d out of range: %w", n, ErrBadDigest)
			}
			seenP, p.Threads = true, uint8(n)
		default:
			return fmt.Errorf("unexpected or repeated argon2 parameter %q: %w", k, ErrBadDigest)
		}
	}
	if !seenM || !seenT || !seenP {
		return fmt.Errorf("argon2 digest lacks m, t or p: %w", ErrBadDigest)
	}
	return nil
}

// parseParam splits one "k=n" parameter. n is a 32-bit decimal without
// leading zeros, so that each value has a single spelling.
func parseParam(kv string) (string, uint64, error) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok {
		return "", 0, fmt.Errorf("malformed argon2 parameter %q: %w", kv, ErrBadDigest)
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || (len(v) > 1 && v[0] == '0') {
		return "", 0, fmt.Errorf("malformed argon2 parameter %q: %w", k, ErrBadDigest)
	}
	return k, n, nil
}

func (p PHC) checkLimits() error {
	switch {
	case p.Time < 1 || p.Time > MaxTime:
		return fmt.Errorf("argon2 time %d outside 1..%d: %w", p.Time, MaxTime, ErrBadDigest)
	case p.Threads < 1 || p.Threads > MaxThreads:
		return fmt.Errorf("argon2 parallelism %d outside 1..%d: %w", p.Threads, MaxThreads, ErrBadDigest)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > MaxMemory:
		return fmt.Errorf("argon2 memory %d KiB outside %d..%d: %w", p.Memory, 8*uint32(p.Threads), MaxMemory, ErrBadDigest)
	case len(p.Salt) < MinSaltLen || len(p.Salt) > MaxSaltLen:
		return fmt.Errorf("argon2 salt of %d bytes outside %d..%d: %w", len(p.Salt), MinSaltLen, MaxSaltLen, ErrBadDigest)
	case len(p.Key) < MinKeyLen || len(p.Key) > MaxKeyLen:
		return fmt.Errorf("argon2 hash of %d bytes outside %d..%d: %w", len(p.Key), MinKeyLen, MaxKeyLen, ErrBadDigest)
	}
	return nil
}

// decodeB64 decodes standard base64 without padding (the PHC rule), and also
// accepts padded input, which some libraries emit.
func decodeB64(s string) ([]byte, error) {
	// Go's decoder skips \r and \n even in strict mode; refuse them so a
	// digest has one spelling only.
	if strings.ContainsAny(s, "\r\n") {
		return nil, fmt.Errorf("malformed base64: %w", ErrBadDigest)
	}
	enc := base64.RawStdEncoding
	if strings.HasSuffix(s, "=") {
		enc = base64.StdEncoding
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("malformed base64: %w", ErrBadDigest)
	}
	return b, nil
}
