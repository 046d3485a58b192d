package token

// Key material: a new key for an algorithm, a stored key parsed back, and
// the sign-and-verify self-test every parsed key passes before use.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// newKID returns a fresh random key id.
func newKID() string { return kidPrefix + rand.Text() }

// generate creates a new private key for alg and returns it as a stored key
// (times unset).
func generate(alg jwa.SignatureAlgorithm) (storedKey, error) {
	var raw any
	var err error
	switch alg {
	case jwa.RS256:
		raw, err = rsa.GenerateKey(rand.Reader, rsaBits)
	case jwa.EdDSA:
		_, raw, err = ed25519.GenerateKey(rand.Reader)
	case jwa.ES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		err = fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		return storedKey{}, fmt.Errorf("token: generate %s key: %w", alg, err)
	}
	kid := newKID()
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return storedKey{}, fmt.Errorf("token: encode %s key as jwk: %w", alg, err)
	}
	if err := key.Set(jwk.KeyIDKey, kid); err != nil {
		return storedKey{}, fmt.Errorf("token: set kid: %w", err)
	}
	if err := key.Set(jwk.AlgorithmKey, alg); err != nil {
		return storedKey{}, fmt.Errorf("token: set alg: %w", err)
	}
	buf, err := json.Marshal(key)
	if err != nil {
		return storedKey{}, fmt.Errorf("token: marshal %s jwk: %w", alg, err)
	}
	return storedKey{KID: kid, PrivateJWK: buf}, nil
}

// parseStoredKey decodes and checks one stored key: it must be a private
// key of the configured algorithm with the required strength, its kid must
// match, and it must produce signatures that verify with its public half.
func parseStoredKey(sk storedKey, alg jwa.SignatureAlgorithm) (*parsedKey, error) {
	if sk.KID == "" || len(sk.KID) > 128 {
		return nil, fmt.Errorf("bad kid %q", truncate(sk.KID, 64))
	}
	key, err := jwk.ParseKey(sk.PrivateJWK)
	if err != nil {
		return nil, fmt.Errorf("parse jwk of %s: %w", sk.KID, err)
	}
	if key.KeyID() != sk.KID {
		return nil, fmt.Errorf("jwk kid %q does not match record kid %q", truncate(key.KeyID(), 64), sk.KID)
	}
	var raw any
	if err := key.Raw(&raw); err != nil {
		return nil, fmt.Errorf("decode jwk of %s: %w", sk.KID, err)
	}
	var priv crypto.Signer
	switch alg {
	case jwa.RS256:
		k, ok := raw.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("key %s is %T, want RSA private key", sk.KID, raw)
		}
		if k.N.BitLen() < rsaBits {
			return nil, fmt.Errorf("key %s: RSA modulus of %d bits, want >= %d", sk.KID, k.N.BitLen(), rsaBits)
		}
		if err := k.Validate(); err != nil {
			return nil, fmt.Errorf("key %s: %w", sk.KID, err)
		}
		k.Precompute()
		priv = k
	case jwa.EdDSA:
		k, ok := raw.(ed25519.PrivateKey)
		if !ok || len(k) != ed25519.PrivateKeySize {
			return nil, fmt.Errorf("key %s is %T, want Ed25519 private key", sk.KID, raw)
		}
		priv = k
	case jwa.ES256:
		k, ok := raw.(*ecdsa.PrivateKey)
		if !ok || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("key %s is %T, want P-256 private key", sk.KID, raw)
		}
		if _, err := k.ECDH(); err != nil {
			return nil, fmt.Errorf("key %s: %w", sk.KID, err)
		}
		priv = k
	default:
		return nil, fmt.Errorf("unsupported algorithm %q", alg)
	}

	pubKey, err := jwk.FromRaw(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("public jwk of %s: %w", sk.KID, err)
	}
	for name, v := range map[string]any{jwk.KeyIDKey: sk.KID, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: jwk.ForSignature} {
		if err := pubKey.Set(name, v); err != nil {
			return nil, fmt.Errorf("public jwk of %s: set %s: %w", sk.KID, name, err)
		}
	}
	pubJSON, err := json.Marshal(pubKey)
	if err != nil {
		return nil, fmt.Errorf("marshal public jwk of %s: %w", sk.KID, err)
	}

	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(alg), sk.KID, "JWT"})
	if err != nil {
		return nil, fmt.Errorf("header of %s: %w", sk.KID, err)
	}

	pk := &parsedKey{
		kid:    sk.KID,
		rawJWK: bytes.Clone(sk.PrivateJWK),
		priv:   priv,
		pub:    priv.Public(),
		pubJWK: pubJSON,
		header: b64.EncodeToString(hdr),
		alg:    alg,
	}
	if err := pk.selfTest(); err != nil {
		return nil, fmt.Errorf("key %s: %w", sk.KID, err)
	}
	return pk, nil
}

// selfTest signs a fixed message and verifies it with the public key, so a
// corrupt record fails at load time and not on every request.
func (pk *parsedKey) selfTest() error {
	msg := []byte("authgate key self-test")
	sig, err := jws.NewSigner(pk.alg)
	if err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	s, err := sig.Sign(msg, pk.priv)
	if err != nil {
		return fmt.Errorf("self-test sign: %w", err)
	}
	ver, err := jws.NewVerifier(pk.alg)
	if err != nil {
		return fmt.Errorf("self-test: %w", err)
	}
	if err := ver.Verify(msg, s, pk.pub); err != nil {
		return fmt.Errorf("self-test verify: %w", err)
	}
	return nil
}
