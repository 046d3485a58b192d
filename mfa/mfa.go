// Package mfa keeps a user's second factors: an authenticator app (TOTP,
// RFC 6238: SHA-1, 6 digits, 30 s steps, one step of skew either way),
// single-use backup codes, and the phone numbers a user reserved for SMS
// codes. It checks TOTP and backup codes; it does not send SMS codes (the
// sign-in flow does, as for its first-factor codes) and it does not
// count failures (every wrong second-factor code counts in the sign-in
// flow's per-account code budget, signin/budget.go).
//
// Storage, per user, all single-key operations (so Redis Cluster needs no
// shared hash tags):
//
//   - "mfa:state:<user>": what the user has (the id of the verified
//     authenticator app, the last TOTP time step accepted, the HMACs of the
//     unused backup codes, the reserved phone ids). Every check that must
//     happen once (a TOTP step, a backup code) is one atomic Update of it.
//   - "mfa:secret:totp:<user>:<id>": the verified TOTP secret, and
//     "mfa:secret:pending:<user>" one being set up. Keys under SecretPrefix
//     hold secrets: the store's sealing layer (internal/seal) encrypts them,
//     and SecretKeys lists the verified ones for a rewrap.
//   - "mfa:enrolled": the set of verified secret keys, which is how a
//     rewrap finds them without scanning the store.
package mfa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/internal/record"
	"github.com/authgate/authgate/store"
)

// Store is the part of store.Store the second factors use.
type Store interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte, ttl time.Duration) error
	Delete(ctx context.Context, keys ...string) error
	Update(ctx context.Context, key string, fn store.UpdateFunc) error
	AddMember(ctx context.Context, key, member string, ttl time.Duration) error
	RemoveMember(ctx context.Context, key string, members ...string) error
	Members(ctx context.Context, key string) ([]string, error)
}

// Key is a server secret shared by every instance (internal/secret.Key):
// backup codes are stored as HMACs under it, so a copy of the store
// without the key cannot test guesses offline.
type Key interface {
	Get(ctx context.Context) ([]byte, error)
}

// KeyName is the store key of the backup-code HMAC key; the wiring passes
// secret.New(store, KeyName) as Deps.Key and lists it among the secrets.
const KeyName = "secrets:mfa"

// SecretPrefix starts the store key of every TOTP secret: a key with it
// holds a secret (internal/app.IsSecretKey).
const SecretPrefix = "mfa:secret:"

// IsSecretKey reports whether the store key k holds a TOTP secret.
func IsSecretKey(k string) bool { return strings.HasPrefix(k, SecretPrefix) }

func stateKey(uid string) string    { return "mfa:state:" + uid }
func totpKey(uid, id string) string { return SecretPrefix + "totp:" + uid + ":" + id }
func pendingKey(uid string) string  { return SecretPrefix + "pending:" + uid }

// enrolledKey is the set of verified secret keys.
const enrolledKey = "mfa:enrolled"

// Config is which second factors a deployment offers.
type Config struct {
	TOTP        bool
	BackupCodes bool
	PhoneCode   bool
	// Required gives a user without a second factor the setup-mfa task
	// (the tasks package decides; here it only keeps a user from removing
	// the last factor).
	Required bool
	// Issuer is the name authenticator apps show (default: the app name).
	Issuer string
	// EnrollTTL is how long an authenticator app being set up waits for
	// its first code.
	EnrollTTL time.Duration
}

// Deps are the collaborators of a Service.
type Deps struct {
	Store Store
	// Key is the backup-code HMAC key: secret.New(store, KeyName).
	Key Key
	Now func() time.Time
}

// Service keeps and checks second factors.
type Service struct {
	cfg Config
	st  Store
	key Key
	now func() time.Time
}

// New returns a Service.
func New(cfg Config, d Deps) *Service {
	if cfg.Issuer == "" {
		cfg.Issuer = defaults.AppName
	}
	if cfg.EnrollTTL <= 0 {
		cfg.EnrollTTL = defaults.MFAEnrollTTL
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{cfg: cfg, st: d.Store, key: d.Key, now: d.Now}
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// Status is what second factors a user has, as the configuration allows
// them: a factor turned off in the configuration is not reported.
type Status struct {
	// TOTP is set when an authenticator app is verified.
	TOTP bool
	// TOTPID and TOTPCreatedAt describe it.
	TOTPID        string
	TOTPCreatedAt time.Time
	// BackupCodes is how many unused backup codes are left; they count
	// only alongside another second factor.
	BackupCodes int
	// Phones are the ids of the phone numbers reserved for SMS codes.
	Phones []string
}

// Enabled reports a second factor (Clerk's two_factor_enabled): an
// authenticator app or a reserved phone. Backup codes alone are not one.
func (st Status) Enabled() bool { return st.TOTP || len(st.Phones) > 0 }

// state is the stored record at stateKey.
type state struct {
	TOTPID   string    `json:"totp_id,omitempty"`
	TOTPAt   time.Time `json:"totp_at,omitzero"`
	LastStep int64     `json:"last_step,omitempty"`
	Backup   []string  `json:"backup,omitempty"`
	BackupID string    `json:"backup_id,omitempty"`
	BackupAt time.Time `json:"backup_at,omitzero"`
	Phones   []string  `json:"phones,omitempty"`
}

// enabled is Status.Enabled on the stored record, under the configuration.
func (s *Service) enabled(st *state) bool {
	return (s.cfg.TOTP && st.TOTPID != "") || (s.cfg.PhoneCode && len(st.Phones) > 0)
}

// Status returns the user's second factors.
func (s *Service) Status(ctx context.Context, uid string) (Status, error) {
	st, err := s.load(ctx, uid)
	if err != nil {
		return Status{}, err
	}
	var out Status
	if s.cfg.TOTP && st.TOTPID != "" {
		out.TOTP, out.TOTPID, out.TOTPCreatedAt = true, st.TOTPID, st.TOTPAt
	}
	if s.cfg.PhoneCode {
		out.Phones = slices.Clone(st.Phones)
	}
	if s.cfg.BackupCodes && out.Enabled() {
		out.BackupCodes = len(st.Backup)
	}
	return out, nil
}

func (s *Service) load(ctx context.Context, uid string) (*state, error) {
	st := new(state)
	data, err := s.st.Get(ctx, stateKey(uid))
	if errors.Is(err, store.ErrNotFound) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading second factors: %w", err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("decoding second factors: %w", err)
	}
	return st, nil
}

// errNoChange aborts an update that has nothing to write.
var errNoChange = record.Unchanged

// update applies fn to the user's record in one atomic store update. The
// store may run fn more than once (it lost a race), each time on a fresh
// copy, so fn sets everything it reports back. fn returning errNoChange
// writes nothing and update returns nil; an empty record is deleted.
func (s *Service) update(ctx context.Context, uid string, fn func(st *state) error) error {
	return record.Update(ctx, s.st, stateKey(uid), "second factors", func(st *state, _ bool) (*state, time.Duration, error) {
		if err := fn(st); err != nil {
			return nil, 0, err
		}
		if st.TOTPID == "" && len(st.Backup) == 0 && len(st.Phones) == 0 {
			return nil, 0, nil // nothing left: no record
		}
		return st, 0, nil
	})
}

// Reset removes every second factor of the user (an administrator's
// "disable MFA", or a deleted user) and reports whether there was one.
func (s *Service) Reset(ctx context.Context, uid string) (bool, error) {
	var had bool
	var totpID string
	err := s.update(ctx, uid, func(st *state) error {
		had, totpID = s.enabled(st) || len(st.Backup) > 0, st.TOTPID
		*st = state{}
		return nil
	})
	if err != nil {
		return false, err
	}
	if err := s.st.Delete(ctx, pendingKey(uid)); err != nil {
		return had, fmt.Errorf("deleting the authenticator app being set up: %w", err)
	}
	if totpID != "" {
		if err := s.forgetSecret(ctx, uid, totpID); err != nil {
			return had, err
		}
	}
	return had, nil
}

// SecretKeys lists the store keys of every verified TOTP secret, for a
// rewrap of the sealed secrets. Secrets still being set up are left out:
// they expire within EnrollTTL, and one the old key sealed is re-sealed on
// its next read.
func (s *Service) SecretKeys(ctx context.Context) ([]string, error) {
	keys, err := s.st.Members(ctx, enrolledKey)
	if err != nil {
		return nil, fmt.Errorf("listing TOTP secrets: %w", err)
	}
	slices.Sort(keys)
	return keys, nil
}
