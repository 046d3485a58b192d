package token

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"go.uber.org/zap"

	"github.com/authgate/authgate/store"
)

// b64 is strict unpadded base64url: no '=', no '+' or '/', no non-zero
// trailing bits, no line breaks.
var b64 = base64.RawURLEncoding.Strict()

// Keyring holds the signing keys of one algorithm, mints session tokens and
// verifies them. It is safe for concurrent use. Call Load before use.
type Keyring struct {
	st       store.Store
	cfg      Config
	alg      jwa.SignatureAlgorithm
	signer   jws.Signer
	verifier jws.Verifier
	log      *zap.Logger
	storeKey string

	set    atomic.Pointer[keySet]
	jwks   atomic.Pointer[jwksDoc]
	cache  *verifyCache
	loadMu sync.Mutex // serializes Load, Refresh and Rotate

	unknownMu          sync.Mutex
	lastUnknownRefresh time.Time
}

// NewKeyring returns a Keyring over st for cfg (see Config for defaults).
// It validates cfg; it does not touch the store (call Load). logger may be
// nil.
func NewKeyring(st store.Store, cfg Config, logger *zap.Logger) (*Keyring, error) {
	if st == nil {
		return nil, errors.New("token: nil store")
	}
	cfg, alg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	signer, err := jws.NewSigner(alg)
	if err != nil {
		return nil, fmt.Errorf("token: signer for %s: %w", alg, err)
	}
	verifier, err := jws.NewVerifier(alg)
	if err != nil {
		return nil, fmt.Errorf("token: verifier for %s: %w", alg, err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Keyring{
		st:       st,
		cfg:      cfg,
		alg:      alg,
		signer:   signer,
		verifier: verifier,
		log:      logger.Named("token"),
		storeKey: storeKeyPrefix + cfg.Alg,
		cache:    newVerifyCache(cfg.CacheSize),
	}, nil
}

// Alg returns the configured signing algorithm ("RS256", "EdDSA", "ES256").
func (k *Keyring) Alg() string { return k.cfg.Alg }

// Lifetime returns the lifetime of minted tokens.
func (k *Keyring) Lifetime() time.Duration { return k.cfg.Lifetime }

// wireClaims is the JSON payload of a session token, in this member order.
type wireClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Sid string `json:"sid"`
	Sts string `json:"sts"`
	V   int    `json:"v"`
	Iat int64  `json:"iat"`
	Nbf int64  `json:"nbf"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
	Azp string `json:"azp,omitempty"`
}

// Mint signs a session token for c with the active key. It sets c.ID (a
// random jti), c.IssuedAt (now, whole seconds), c.NotBefore (iat-10s) and
// c.Expiry (iat+lifetime), and returns the token and the claims as they
// are in it. Issuer, Subject and SessionID must be set; Status must be
// StatusActive or StatusPending.
func (k *Keyring) Mint(ctx context.Context, c Claims) (string, Claims, error) {
	if err := ctx.Err(); err != nil {
		return "", Claims{}, fmt.Errorf("token: mint: %w", err)
	}
	switch {
	case c.Issuer == "":
		return "", Claims{}, errors.New("token: mint: empty issuer")
	case c.Subject == "":
		return "", Claims{}, errors.New("token: mint: empty subject")
	case c.SessionID == "":
		return "", Claims{}, errors.New("token: mint: empty session id")
	case c.Status != StatusActive && c.Status != StatusPending:
		return "", Claims{}, fmt.Errorf("token: mint: bad status %q", truncate(c.Status, 32))
	}
	set := k.set.Load()
	if set == nil {
		return "", Claims{}, errors.New("token: mint: keys not loaded")
	}
	now := k.cfg.Now()
	key := set.signer(now)
	iat := now.Unix()
	c.ID = rand.Text()
	c.IssuedAt = time.Unix(iat, 0).UTC()
	c.NotBefore = c.IssuedAt.Add(-NotBeforeSkew)
	c.Expiry = c.IssuedAt.Add(k.cfg.Lifetime)
	payload, err := json.Marshal(wireClaims{
		Iss: c.Issuer, Sub: c.Subject, Sid: c.SessionID, Sts: c.Status, V: Version,
		Iat: iat, Nbf: c.NotBefore.Unix(), Exp: c.Expiry.Unix(), Jti: c.ID, Azp: c.AuthorizedParty,
	})
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: mint: marshal claims: %w", err)
	}
	// Compact JWS (RFC 7515 §7.1): the per-key header is encoded once;
	// jwx's signer for the configured algorithm does the cryptography.
	input := make([]byte, 0, len(key.header)+1+b64.EncodedLen(len(payload)))
	input = append(input, key.header...)
	input = append(input, '.')
	input = b64.AppendEncode(input, payload)
	sig, err := k.signer.Sign(input, key.priv)
	if err != nil {
		return "", Claims{}, fmt.Errorf("token: mint: sign with %s: %w", key.kid, err)
	}
	tok := string(b64.AppendEncode(append(input, '.'), sig))
	if len(tok) > MaxTokenSize {
		return "", Claims{}, fmt.Errorf("token: mint: token of %d bytes exceeds %d", len(tok), MaxTokenSize)
	}
	return tok, c, nil
}

// Verify checks a session token and returns its claims. Every failure
// wraps ErrInvalidToken. The checks: size <= MaxTokenSize; exact compact
// JWS (three non-empty segments of unpadded base64url, nothing else);
// header with only alg (equal to the configured algorithm), kid and typ
// ("JWT"); a known kid (an unknown kid triggers at most one store refresh
// per UnknownKidRefreshInterval); the signature, checked with the
// configured algorithm and that kid's key; claims without duplicate
// members or aud, iss == wantIssuer, sub, sid and jti non-empty, sts
// active|pending, v == 2, integer iat/nbf/exp with exp required,
// nbf <= iat < exp, exp-iat <= MaxLifetime, and exp, nbf, iat checked
// against the clock (exp exactly, nbf and iat with the configured leeway).
//
// A verified token is cached until it expires; a repeat costs a map lookup
// plus the issuer and time checks. ctx is only used for the unknown-kid
// refresh.
func (k *Keyring) Verify(ctx context.Context, token, wantIssuer string) (Claims, error) {
	if len(token) > MaxTokenSize {
		return Claims{}, invalid("token of %d bytes exceeds %d", len(token), MaxTokenSize)
	}
	if wantIssuer == "" {
		return Claims{}, invalid("no issuer to check against")
	}
	if cl, ok := k.cache.get(token); ok {
		if err := k.checkTimes(cl, k.cfg.Now()); err != nil {
			return Claims{}, err
		}
		if cl.Issuer != wantIssuer {
			return Claims{}, invalid("wrong issuer")
		}
		return cl, nil
	}
	gen := k.cache.generation()

	hdrSeg, payloadSeg, sigSeg, err := splitCompact(token)
	if err != nil {
		return Claims{}, err
	}
	hdr, err := decodeSegment(hdrSeg, "header")
	if err != nil {
		return Claims{}, err
	}
	kid, err := k.parseHeader(hdr)
	if err != nil {
		return Claims{}, err
	}
	set := k.set.Load()
	if set == nil {
		return Claims{}, invalid("keys not loaded")
	}
	key := set.lookup(kid, k.cfg.Now())
	if key == nil {
		if key, err = k.lookupAfterRefresh(ctx, kid); err != nil {
			return Claims{}, err
		}
	}
	sig, err := decodeSegment(sigSeg, "signature")
	if err != nil {
		return Claims{}, err
	}
	if err := k.verifier.Verify([]byte(token[:len(hdrSeg)+1+len(payloadSeg)]), sig, key.pub); err != nil {
		return Claims{}, invalid("bad signature")
	}
	payload, err := decodeSegment(payloadSeg, "payload")
	if err != nil {
		return Claims{}, err
	}
	cl, err := parseClaims(payload)
	if err != nil {
		return Claims{}, err
	}
	now := k.cfg.Now()
	if err := k.checkTimes(cl, now); err != nil {
		return Claims{}, err
	}
	if cl.Issuer != wantIssuer {
		return Claims{}, invalid("wrong issuer")
	}
	k.cache.put(token, cl, gen, now)
	return cl, nil
}

// lookupAfterRefresh handles a kid missing from the key set: at most once
// per UnknownKidRefreshInterval it re-reads the keys from the store, then
// looks kid up again.
func (k *Keyring) lookupAfterRefresh(ctx context.Context, kid string) (*keyEntry, error) {
	k.unknownMu.Lock()
	now := k.cfg.Now()
	var refreshErr error
	if k.lastUnknownRefresh.IsZero() || now.Sub(k.lastUnknownRefresh) >= UnknownKidRefreshInterval {
		k.lastUnknownRefresh = now
		refreshErr = k.Refresh(ctx)
		if refreshErr != nil {
			k.log.Warn("key refresh for unknown kid failed", zap.Error(refreshErr))
		}
	}
	k.unknownMu.Unlock()
	if set := k.set.Load(); set != nil {
		if key := set.lookup(kid, k.cfg.Now()); key != nil {
			return key, nil
		}
	}
	if refreshErr != nil {
		return nil, fmt.Errorf("%w: unknown kid %q (key refresh failed: %w)", ErrInvalidToken, truncate(kid, 64), refreshErr)
	}
	return nil, invalid("unknown kid %q", truncate(kid, 64))
}

// checkTimes applies the clock checks: exp exactly, nbf and iat with
// leeway. Our tokens get no leeway on exp, so a revoked session stops
// passing at its token's exp, not token_lifetime + leeway later; a skewed
// clock only makes the gate refresh inline from __client a little early.
func (k *Keyring) checkTimes(cl Claims, now time.Time) error {
	lw := k.cfg.Leeway
	if !now.Before(cl.Expiry) {
		return invalid("expired")
	}
	if now.Before(cl.NotBefore.Add(-lw)) {
		return invalid("not valid yet (nbf)")
	}
	if now.Before(cl.IssuedAt.Add(-lw)) {
		return invalid("issued in the future (iat)")
	}
	return nil
}

// splitCompact checks that tok is exactly header.payload.signature with
// non-empty segments of [A-Za-z0-9_-] and returns the segments.
func splitCompact(tok string) (hdr, payload, sig string, err error) {
	if tok == "" {
		return "", "", "", invalid("empty token")
	}
	dots := 0
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			dots++
		default:
			return "", "", "", invalid("character %#02x at offset %d is not base64url", c, i)
		}
	}
	if dots != 2 {
		return "", "", "", invalid("%d segments, want 3 (compact JWS)", dots+1)
	}
	i := strings.IndexByte(tok, '.')
	j := i + 1 + strings.IndexByte(tok[i+1:], '.')
	hdr, payload, sig = tok[:i], tok[i+1:j], tok[j+1:]
	if hdr == "" || payload == "" || sig == "" {
		return "", "", "", invalid("empty segment")
	}
	return hdr, payload, sig, nil
}

// decodeSegment decodes one strict base64url segment.
func decodeSegment(seg, what string) ([]byte, error) {
	out, err := b64.DecodeString(seg)
	if err != nil {
		return nil, invalid("%s is not base64url: %w", what, err)
	}
	return out, nil
}

// parseHeader checks the protected header and returns its kid.
func (k *Keyring) parseHeader(hdr []byte) (string, error) {
	var alg, kid, typ *string
	err := decodeObject(hdr, func(name string, dec *json.Decoder) error {
		switch name {
		case "alg":
			return dec.Decode(&alg)
		case "kid":
			return dec.Decode(&kid)
		case "typ":
			return dec.Decode(&typ)
		default:
			return fmt.Errorf("unsupported header parameter %q", truncate(name, 32))
		}
	})
	switch {
	case err != nil:
		return "", invalid("header: %w", err)
	case alg == nil:
		return "", invalid("header: missing alg")
	case *alg != k.cfg.Alg:
		return "", invalid("header: alg %q not allowed (want %s)", truncate(*alg, 16), k.cfg.Alg)
	case typ == nil || *typ != "JWT":
		return "", invalid("header: typ is not JWT")
	case kid == nil || *kid == "":
		return "", invalid("header: missing kid")
	}
	return *kid, nil
}

// decodeObject decodes data as exactly one JSON object of valid UTF-8,
// calling field for each member with the decoder positioned at its value
// (field must consume it). Member names are matched exactly (encoding/json
// struct decoding would match them case-insensitively) and a repeated
// name is an error.
func decodeObject(data []byte, field func(name string, dec *json.Decoder) error) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("bad JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("not a JSON object")
	}
	seen := make(map[string]struct{}, 12)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("bad JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return errors.New("bad JSON: member name is not a string")
		}
		if _, dup := seen[name]; dup {
			return fmt.Errorf("duplicate member %q", truncate(name, 32))
		}
		seen[name] = struct{}{}
		if err := field(name, dec); err != nil {
			return fmt.Errorf("member %q: %w", truncate(name, 32), err)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return fmt.Errorf("bad JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("trailing data after JSON object")
	}
	return nil
}
