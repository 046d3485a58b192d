package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/seal"
	"github.com/authgate/authgate/store"
)

// This file is where the secrets the store keeps (signing keys, code-HMAC,
// CSRF and backup-code keys, the users' TOTP secrets) get sealed: `encryption_key <key> [<previous_key>...]`,
// else for the embedded store a key file beside the database (mode 0600),
// else (Redis without a key) plaintext with a warning at start.

// keyFileSuffix names the embedded store's key file: authgate.db.key.
const keyFileSuffix = ".key"

// errKeyMismatch is the start-up error for a wrong encryption_key: never a
// silent new key set that would sign everyone out.
var errKeyMismatch = errors.New("cannot decrypt signing keys: encryption_key does not match")

// encryptionRing returns the keyring to seal secrets with, or nil when
// secrets stay in plaintext (Redis without encryption_key).
func (a *App) encryptionRing(repl *caddy.Replacer) (*seal.Keyring, error) {
	if len(a.EncryptionKey) == 0 {
		if a.Storage.Backend != "file" {
			a.logger.Warn("encryption_key is not set: the signing keys and the code and CSRF secrets sit in plaintext in Redis; set encryption_key (32 random bytes, base64)")
			return nil, nil
		}
		key, err := seal.KeyFile(repl.ReplaceAll(a.Storage.Path, "") + keyFileSuffix)
		if err != nil {
			return nil, err
		}
		return seal.NewKeyring(key)
	}
	raw := make([][]byte, 0, len(a.EncryptionKey))
	for i, k := range a.EncryptionKey {
		key, err := seal.ParseKey(repl.ReplaceAll(k, ""))
		if err != nil {
			return nil, fmt.Errorf("encryption_key %d: %w", i+1, err)
		}
		raw = append(raw, key)
	}
	return seal.NewKeyring(raw...)
}

// sealSecrets wraps st so that secrets are sealed, when there is a ring.
func (a *App) sealSecrets(st store.Store, ring *seal.Keyring) store.Store {
	if ring == nil {
		return st
	}
	a.sealed = seal.Wrap(st, ring, app.IsSecretKey, a.logger.Named("seal"))
	return a.sealed
}

// loadError turns a signing-key load failure that no retry can fix (the
// key does not open them) into the clear start-up error.
func loadError(err error) error {
	if errors.Is(err, seal.ErrKeyMismatch) || errors.Is(err, seal.ErrCorrupt) {
		return fmt.Errorf("%w (%v)", errKeyMismatch, err)
	}
	return nil
}

// rewrapRoute serves POST /authgate/v1/keys/rewrap (caddy authgate keys
// rewrap): every secret re-sealed with the first encryption_key at once.
func (a *App) rewrap(w http.ResponseWriter, r *http.Request) {
	if a.sealed == nil {
		apierr.Write(w, apierr.FormParamValueInvalid.WithLongMessage("Secrets are not encrypted: set encryption_key first."))
		return
	}
	// The fixed secrets and every user's TOTP secret (mfa lists them).
	keys, err := a.svc.AllSecretKeys(r.Context())
	if err != nil {
		a.logger.Error("listing secrets to re-seal failed", zap.Error(err))
		apierr.Write(w, apierr.From(err))
		return
	}
	n, err := a.sealed.Rewrap(r.Context(), keys)
	if err != nil {
		a.logger.Error("re-sealing secrets failed", zap.Error(err))
		apierr.Write(w, apierr.From(err))
		return
	}
	a.svc.Events.Event(r.Context(), "secrets_rewrapped", zap.Int("count", n))
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"object":"rewrap","rewrapped":%d,"at":%d}`+"\n", n, time.Now().UnixMilli())
}
