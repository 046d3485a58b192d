package token

import (
	"bytes"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"go.uber.org/zap"

	"github.com/authgate/authgate/store"
)

const (
	// rsaBits is the size of generated RSA keys.
	rsaBits = 2048
	// kidPrefix starts every key id, as in Clerk ("ins_...").
	kidPrefix = "ins_"
	// storeKeyPrefix + alg is the store key of the key record.
	storeKeyPrefix = "keys:"
	// maxStoredKeys bounds the key record; more keys than this means the
	// record is corrupt or rotation runs far too often.
	maxStoredKeys = 16
)

// errRotationPending aborts a Rotate update when a rotated-in key has not
// started signing yet.
var errRotationPending = errors.New("token: rotation already pending")

// keyRecord is the JSON record kept in the store at "keys:<alg>".
//
// Every key in it is published in the JWKS from its creation on. The key
// with the latest activate_at that is not in the future signs; a key stops
// signing when the next key activates and is dropped lifetime+leeway after
// that, when every token it signed has expired. active_kid names the newest
// key, the one that signs once its activate_at has passed; it is
// informational, the times decide.
type keyRecord struct {
	ActiveKID string      `json:"active_kid"`
	Keys      []storedKey `json:"keys"`
}

// storedKey is one key of a keyRecord. PrivateJWK is the private key as a
// JWK (RFC 7517) with kid and alg set.
type storedKey struct {
	KID        string          `json:"kid"`
	CreatedAt  time.Time       `json:"created_at"`
	ActivateAt time.Time       `json:"activate_at"`
	PrivateJWK json.RawMessage `json:"private_jwk"`
}

// parsedKey is the immutable crypto part of a stored key, reused across
// refreshes while its stored JWK bytes do not change.
type parsedKey struct {
	kid    string
	rawJWK []byte           // private JWK as stored
	priv   crypto.Signer    // *rsa.PrivateKey, ed25519.PrivateKey or *ecdsa.PrivateKey
	pub    crypto.PublicKey // *rsa.PublicKey, ed25519.PublicKey or *ecdsa.PublicKey
	pubJWK json.RawMessage  // public JWK JSON for the JWKS
	header string           // base64url protected header used by Mint
	alg    jwa.SignatureAlgorithm
}

// keyEntry is a parsedKey with its schedule in one key set.
type keyEntry struct {
	*parsedKey
	createdAt  time.Time
	activateAt time.Time
	// verifyUntil is when the key stops verifying and leaves the JWKS:
	// lifetime+leeway after the next key activated. Zero for the newest key.
	verifyUntil time.Time
}

// usable reports whether the key still verifies at now.
func (e *keyEntry) usable(now time.Time) bool {
	return e.verifyUntil.IsZero() || now.Before(e.verifyUntil)
}

// keySet is an immutable snapshot of the key record.
type keySet struct {
	keys  []*keyEntry // ascending by activateAt
	byKid map[string]*keyEntry
}

// signer returns the key that signs at now: the last one activated, or the
// oldest key if none has activated yet (clock skew between instances).
func (s *keySet) signer(now time.Time) *keyEntry {
	for i := len(s.keys) - 1; i >= 0; i-- {
		if !s.keys[i].activateAt.After(now) {
			return s.keys[i]
		}
	}
	return s.keys[0]
}

// lookup returns the key with id kid if it still verifies at now.
func (s *keySet) lookup(kid string, now time.Time) *keyEntry {
	e, ok := s.byKid[kid]
	if !ok || !e.usable(now) {
		return nil
	}
	return e
}

// sortKeys orders stored keys by activation (then creation) time.
func sortKeys(keys []storedKey) {
	sort.SliceStable(keys, func(i, j int) bool {
		if !keys[i].ActivateAt.Equal(keys[j].ActivateAt) {
			return keys[i].ActivateAt.Before(keys[j].ActivateAt)
		}
		return keys[i].CreatedAt.Before(keys[j].CreatedAt)
	})
}

// retireTimes returns, for keys sorted by sortKeys, when each stops
// verifying (zero for the last).
func retireTimes(keys []storedKey, grace time.Duration) []time.Time {
	out := make([]time.Time, len(keys))
	for i := 0; i+1 < len(keys); i++ {
		out[i] = keys[i+1].ActivateAt.Add(grace)
	}
	return out
}

// buildSet parses a key record into a key set. Keys already parsed in prev
// (same kid and same stored bytes) are reused.
func (k *Keyring) buildSet(data []byte, prev *keySet) (*keySet, error) {
	var rec keyRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("decode key record: %w", err)
	}
	if len(rec.Keys) == 0 {
		return nil, errors.New("key record has no keys")
	}
	if len(rec.Keys) > maxStoredKeys {
		return nil, fmt.Errorf("key record has %d keys (max %d)", len(rec.Keys), maxStoredKeys)
	}
	sortKeys(rec.Keys)
	until := retireTimes(rec.Keys, k.cfg.Lifetime+k.cfg.Leeway)
	set := &keySet{byKid: make(map[string]*keyEntry, len(rec.Keys))}
	for i, sk := range rec.Keys {
		if _, dup := set.byKid[sk.KID]; dup {
			return nil, fmt.Errorf("duplicate kid %q in key record", truncate(sk.KID, 64))
		}
		var pk *parsedKey
		if prev != nil {
			if old, ok := prev.byKid[sk.KID]; ok && bytes.Equal(old.rawJWK, sk.PrivateJWK) {
				pk = old.parsedKey
			}
		}
		if pk == nil {
			var err error
			if pk, err = parseStoredKey(sk, k.alg); err != nil {
				return nil, err
			}
		}
		e := &keyEntry{parsedKey: pk, createdAt: sk.CreatedAt, activateAt: sk.ActivateAt, verifyUntil: until[i]}
		set.keys = append(set.keys, e)
		set.byKid[sk.KID] = e
	}
	return set, nil
}

// newRecord returns a record holding one fresh key that is active at once.
func (k *Keyring) newRecord(sk storedKey, now time.Time) ([]byte, error) {
	sk.CreatedAt, sk.ActivateAt = now.UTC(), now.UTC()
	rec := keyRecord{ActiveKID: sk.KID, Keys: []storedKey{sk}}
	buf, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("token: marshal key record: %w", err)
	}
	return buf, nil
}

// Load reads the signing keys from the store, creating the key record on
// first start. Creation is race-safe across instances: the record is
// written with store.Create, and an instance that loses the race uses the
// winner's record. Keys live at "keys:<alg>" as one JSON record
// {"active_kid", "keys":[{"kid","created_at","activate_at","private_jwk"}]};
// private_jwk is the private key in clear, so the store must be protected
// like a key file.
func (k *Keyring) Load(ctx context.Context) error {
	return k.load(ctx, "load")
}

// Refresh re-reads the key record from the store so the instance picks up
// rotations done elsewhere; callers run it periodically (well below
// Config.PublishDelay), and Verify runs it on an unknown kid at most every
// UnknownKidRefreshInterval. If the record has vanished it is created again
// as in Load. On error the keys in memory stay in use.
func (k *Keyring) Refresh(ctx context.Context) error {
	return k.load(ctx, "refresh")
}

func (k *Keyring) load(ctx context.Context, op string) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	return k.loadLocked(ctx, op)
}

// loadLocked is load with k.loadMu held.
func (k *Keyring) loadLocked(ctx context.Context, op string) error {
	data, err := k.st.Get(ctx, k.storeKey)
	if errors.Is(err, store.ErrNotFound) {
		data, err = k.createRecord(ctx, op)
	}
	if err != nil {
		return fmt.Errorf("token: %s keys from store: %w", op, err)
	}
	if err := k.install(data); err != nil {
		return fmt.Errorf("token: %s keys: %w", op, err)
	}
	return nil
}

// createRecord writes a new key record unless another instance did first,
// and returns the record now in the store.
func (k *Keyring) createRecord(ctx context.Context, op string) ([]byte, error) {
	sk, err := generate(k.alg)
	if err != nil {
		return nil, err
	}
	data, err := k.newRecord(sk, k.cfg.Now())
	if err != nil {
		return nil, err
	}
	err = k.st.Create(ctx, k.storeKey, data, 0)
	if errors.Is(err, store.ErrExists) {
		k.log.Info("signing key created by another instance, using it", zap.String("alg", k.cfg.Alg))
		return k.st.Get(ctx, k.storeKey)
	}
	if err != nil {
		return nil, err
	}
	if op == "refresh" {
		k.log.Warn("signing key record was missing from the store, created a new key",
			zap.String("alg", k.cfg.Alg), zap.String("kid", sk.KID))
	} else {
		k.log.Info("created signing key", zap.String("alg", k.cfg.Alg), zap.String("kid", sk.KID))
	}
	return data, nil
}

// install parses data and makes it the current key set. When a kid
// disappears, the verification cache is emptied so no token of a dropped
// key is accepted from it.
func (k *Keyring) install(data []byte) error {
	prev := k.set.Load()
	set, err := k.buildSet(data, prev)
	if err != nil {
		return err
	}
	k.set.Store(set)
	if prev != nil {
		for kid := range prev.byKid {
			if _, ok := set.byKid[kid]; !ok {
				k.cache.clear()
				k.log.Info("signing key dropped", zap.String("alg", k.cfg.Alg), zap.String("kid", kid))
			}
		}
	}
	return nil
}

// Rotate adds a new signing key. The key is published in the JWKS at once
// and signs only after Config.PublishDelay, so every verifier has it before
// it sees a token signed with it; the previous key stays in the JWKS until
// lifetime+leeway after it stopped signing, and keys past that are removed
// from the record. Other instances pick the change up on Refresh.
//
// The update is atomic in the store. While a rotated-in key has not started
// signing yet, Rotate does nothing (so instances rotating on the same
// schedule rotate once).
func (k *Keyring) Rotate(ctx context.Context) error {
	sk, err := generate(k.alg)
	if err != nil {
		return err
	}
	grace := k.cfg.Lifetime + k.cfg.Leeway
	// Hold loadMu so a concurrent Refresh can not install an older record
	// after this one.
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	var written []byte
	err = k.st.Update(ctx, k.storeKey, func(cur []byte, exists bool) ([]byte, time.Duration, error) {
		now := k.cfg.Now().UTC()
		if !exists {
			buf, err := k.newRecord(sk, now)
			written = buf
			return buf, 0, err
		}
		var rec keyRecord
		if err := json.Unmarshal(cur, &rec); err != nil {
			return nil, 0, fmt.Errorf("token: rotate: decode key record: %w", err)
		}
		sortKeys(rec.Keys)
		if n := len(rec.Keys); n > 0 && rec.Keys[n-1].ActivateAt.After(now) {
			return nil, 0, errRotationPending
		}
		until := retireTimes(rec.Keys, grace)
		kept := rec.Keys[:0]
		for i, old := range rec.Keys {
			if until[i].IsZero() || now.Before(until[i]) {
				kept = append(kept, old)
			}
		}
		sk.CreatedAt, sk.ActivateAt = now, now.Add(k.cfg.PublishDelay)
		rec.Keys = append(kept, sk)
		rec.ActiveKID = sk.KID
		buf, err := json.Marshal(rec)
		if err != nil {
			return nil, 0, fmt.Errorf("token: rotate: marshal key record: %w", err)
		}
		written = buf
		return buf, 0, nil
	})
	if errors.Is(err, errRotationPending) {
		k.log.Info("key rotation skipped: a new key is already waiting to sign", zap.String("alg", k.cfg.Alg))
		return k.loadLocked(ctx, "refresh")
	}
	if err != nil {
		return fmt.Errorf("token: rotate keys: %w", err)
	}
	if err := k.install(written); err != nil {
		return fmt.Errorf("token: rotate keys: %w", err)
	}
	k.log.Info("rotated signing key", zap.String("alg", k.cfg.Alg), zap.String("kid", sk.KID),
		zap.Duration("publish_delay", k.cfg.PublishDelay))
	return nil
}

// jwksDoc is a cached JWKS body for one key set, valid until a key drops.
type jwksDoc struct {
	set   *keySet
	until time.Time // zero: no key drops out
	body  []byte
}

// JWKS returns the public keys as a JWK Set: {"keys":[{"kty","kid","alg",
// "use":"sig","n","e" | "crv","x"[,"y"]}]}, every key that may still
// verify (including a published key that does not sign yet). Only public
// members are present. The caller may modify the returned slice.
func (k *Keyring) JWKS() []byte {
	now := k.cfg.Now()
	set := k.set.Load()
	if d := k.jwks.Load(); d != nil && d.set == set && (d.until.IsZero() || now.Before(d.until)) {
		return bytes.Clone(d.body)
	}
	doc := &jwksDoc{set: set}
	var buf bytes.Buffer
	buf.WriteString(`{"keys":[`)
	if set != nil {
		first := true
		for _, e := range set.keys {
			if !e.usable(now) {
				continue
			}
			if !first {
				buf.WriteByte(',')
			}
			first = false
			buf.Write(e.pubJWK)
			if !e.verifyUntil.IsZero() && (doc.until.IsZero() || e.verifyUntil.Before(doc.until)) {
				doc.until = e.verifyUntil
			}
		}
	}
	buf.WriteString(`]}`)
	doc.body = buf.Bytes()
	k.jwks.Store(doc)
	return bytes.Clone(doc.body)
}

// truncate shortens s to at most n bytes for error messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// StoreKeys lists the store keys that hold private key records, one per
// algorithm: the secrets a store encryption layer must seal.
func StoreKeys() []string {
	return []string{storeKeyPrefix + AlgRS256, storeKeyPrefix + AlgEdDSA, storeKeyPrefix + AlgES256}
}
