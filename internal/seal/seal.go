// Package seal encrypts the secrets authgate keeps in its store (the
// private signing keys, the code-HMAC and CSRF keys) so that a copy of the
// store, a Redis dump or a backup, cannot mint tokens or forge codes.
//
// A Keyring holds one or more 32-byte keys: the first seals, every key
// opens, so a deployer rotates by putting the new key first and keeping the
// old one behind it until everything was re-sealed (Store re-seals on read;
// Rewrap does all at once). Values are sealed with AES-256-GCM and bound to
// their store key as additional data: a sealed value moved to another key
// does not open.
//
// Sealed format: "agseal1." + hex(key id, 4 bytes) + "." + base64url(nonce ‖
// ciphertext ‖ tag). The key id (a hash of the key) tells a value sealed with
// an unknown key (ErrKeyMismatch: the configured encryption_key is wrong)
// from a value that was tampered with (ErrCorrupt).
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of an encryption key in bytes.
const KeySize = 32

const (
	prefix = "agseal1."
	idSize = 4
)

// Errors. Both mean the value cannot be read with this Keyring.
var (
	// ErrKeyMismatch: the value was sealed with a key this Keyring does
	// not hold (the configured encryption_key is not the one the store was
	// sealed with).
	ErrKeyMismatch = errors.New("encryption_key does not match")
	// ErrCorrupt: the value was sealed with a known key but does not
	// authenticate (tampered, truncated, or moved to another store key).
	ErrCorrupt = errors.New("sealed value does not authenticate")
)

type key struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// Keyring seals with its first key and opens with any of them.
type Keyring struct {
	keys []key
}

// NewKeyring returns a Keyring over raw keys of KeySize bytes each; the
// first one seals.
func NewKeyring(raw ...[]byte) (*Keyring, error) {
	if len(raw) == 0 {
		return nil, errors.New("no encryption key")
	}
	k := &Keyring{}
	for i, r := range raw {
		if len(r) != KeySize {
			return nil, fmt.Errorf("encryption key %d is %d bytes; want %d", i+1, len(r), KeySize)
		}
		block, err := aes.NewCipher(r)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		k.keys = append(k.keys, key{id: keyID(r), aead: aead})
	}
	return k, nil
}

// ParseKey decodes a key written as base64 (standard or URL alphabet,
// padded or not). Error messages never quote the value.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("encryption key decodes to %d bytes; want %d random bytes, base64 encoded", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("encryption key is not base64 (want %d random bytes, base64 encoded, e.g. from `openssl rand -base64 32`)", KeySize)
}

// keyID names a key without revealing it.
func keyID(raw []byte) [idSize]byte {
	sum := sha256.Sum256(append([]byte("authgate seal key id\x00"), raw...))
	var id [idSize]byte
	copy(id[:], sum[:idSize])
	return id
}

// IsSealed reports whether data is in the sealed format.
func IsSealed(data []byte) bool { return bytes.HasPrefix(data, []byte(prefix)) }

// Seal encrypts plain for the store key name.
func (k *Keyring) Seal(name string, plain []byte) ([]byte, error) {
	cur := k.keys[0]
	nonce := make([]byte, cur.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("drawing nonce: %w", err)
	}
	box := cur.aead.Seal(nonce, nonce, plain, []byte(name))
	out := make([]byte, 0, len(prefix)+2*idSize+1+base64.RawURLEncoding.EncodedLen(len(box)))
	out = append(out, prefix...)
	out = hex.AppendEncode(out, cur.id[:])
	out = append(out, '.')
	return base64.RawURLEncoding.AppendEncode(out, box), nil
}

// Open decrypts a sealed value of store key name. current reports whether
// it was sealed with the first key (false: re-seal it). A value that is not
// in the sealed format is returned as it is with current false: it predates
// encryption and is sealed on its next write.
func (k *Keyring) Open(name string, data []byte) (plain []byte, current bool, err error) {
	if !IsSealed(data) {
		return data, false, nil
	}
	rest := data[len(prefix):]
	dot := bytes.IndexByte(rest, '.')
	if dot != 2*idSize {
		return nil, false, ErrCorrupt
	}
	var id [idSize]byte
	if _, err := hex.Decode(id[:], rest[:dot]); err != nil {
		return nil, false, ErrCorrupt
	}
	box, err := base64.RawURLEncoding.AppendDecode(nil, rest[dot+1:])
	if err != nil {
		return nil, false, ErrCorrupt
	}
	for i, kk := range k.keys {
		if kk.id != id {
			continue
		}
		ns := kk.aead.NonceSize()
		if len(box) < ns+kk.aead.Overhead() {
			return nil, false, ErrCorrupt
		}
		plain, err := kk.aead.Open(nil, box[:ns], box[ns:], []byte(name))
		if err != nil {
			return nil, false, ErrCorrupt
		}
		return plain, i == 0, nil
	}
	return nil, false, ErrKeyMismatch
}
