package mfa

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/store"
)

// The TOTP parameters (RFC 6238 defaults, what every authenticator app
// understands): HMAC-SHA-1, 6 digits, 30-second steps, a 160-bit secret.
const (
	period     = 30
	digits     = otp.DigitsSix
	secretSize = 20
	// skew is how many steps either side of now a code may come from: one
	// step absorbs a phone clock that is a little off and the time a user
	// takes to type.
	skew = 1
)

// secretRecord is a stored TOTP secret (sealed at rest).
type secretRecord struct {
	ID        string    `json:"id"`
	Secret    string    `json:"secret"` // base32, as the otpauth URI carries it
	CreatedAt time.Time `json:"created_at"`
	// ExpireAt ends an authenticator app being set up; the clock decides,
	// as the store's TTL may be lost when a rewrap re-seals the key.
	ExpireAt time.Time `json:"expire_at,omitzero"`
}

// Enrollment is an authenticator app being set up: the secret and the
// otpauth:// URI (for a QR code) to show the user once.
type Enrollment struct {
	ID        string
	Secret    string
	URI       string
	CreatedAt time.Time
	ExpireAt  time.Time
}

// Verified is an authenticator app that was just verified.
type Verified struct {
	ID        string
	CreatedAt time.Time
	// BackupCodes are the user's first backup codes, to show once; nil
	// when the user had some already or backup codes are off.
	BackupCodes []string
}

// Enroll starts setting up an authenticator app for the user; account
// names the user in the app (an email address, say). It replaces an
// earlier unfinished one. A user with a verified app must remove it first.
func (s *Service) Enroll(ctx context.Context, uid, account string) (*Enrollment, error) {
	if !s.cfg.TOTP {
		return nil, ErrTOTPOff
	}
	st, err := s.load(ctx, uid)
	if err != nil {
		return nil, err
	}
	if st.TOTPID != "" {
		return nil, ErrTOTPExists
	}
	if account == "" {
		account = uid
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.cfg.Issuer, AccountName: account, Period: period, SecretSize: secretSize,
		Digits: digits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return nil, fmt.Errorf("making a TOTP secret: %w", err)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	rec := secretRecord{ID: ids.New("totp"), Secret: key.Secret(), CreatedAt: now, ExpireAt: now.Add(s.cfg.EnrollTTL)}
	if err := s.putSecret(ctx, pendingKey(uid), rec, s.cfg.EnrollTTL); err != nil {
		return nil, err
	}
	return &Enrollment{ID: rec.ID, Secret: rec.Secret, URI: key.URL(), CreatedAt: now, ExpireAt: rec.ExpireAt}, nil
}

// Verify finishes setting up the authenticator app with its first code.
// The code's time step counts as used, as at sign-in. When backup codes
// are on and the user has none, the first set is made and returned.
func (s *Service) Verify(ctx context.Context, uid, code string) (*Verified, error) {
	if !s.cfg.TOTP {
		return nil, ErrTOTPOff
	}
	rec, err := s.readSecret(ctx, pendingKey(uid))
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.now().Before(rec.ExpireAt)) {
		return nil, ErrNoEnrollment
	}
	if err != nil {
		return nil, err
	}
	steps, err := s.matchingSteps(rec.Secret, code)
	if err != nil {
		return nil, err
	}
	if len(steps) == 0 {
		return nil, ErrCodeIncorrect
	}
	key, err := s.backupKey(ctx)
	if err != nil {
		return nil, err
	}
	// The secret goes under its own id, and is listed for a rewrap, before
	// the record names it: a record never names a secret that is missing.
	verified := secretRecord{ID: rec.ID, Secret: rec.Secret, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.st.AddMember(ctx, enrolledKey, totpKey(uid, rec.ID), 0); err != nil {
		return nil, fmt.Errorf("listing the TOTP secret: %w", err)
	}
	if err := s.putSecret(ctx, totpKey(uid, rec.ID), verified, 0); err != nil {
		return nil, err
	}
	var codes []string
	var current string // the app the record names when the update ran
	err = s.update(ctx, uid, func(st *state) error {
		codes, current = nil, st.TOTPID
		if st.TOTPID != "" {
			return ErrTOTPExists
		}
		step, ok := firstAfter(steps, st.LastStep)
		if !ok {
			return ErrCodeIncorrect // this code was used already
		}
		st.TOTPID, st.TOTPAt, st.LastStep = rec.ID, verified.CreatedAt, step
		codes = s.firstBackupCodes(st, key, uid)
		return nil
	})
	if err != nil {
		if current != rec.ID {
			// The secret stored above is nobody's: drop it. (When the
			// record names it, this was a second verification of the same
			// app, which must not delete the first one's secret.)
			_ = s.forgetSecret(ctx, uid, rec.ID)
		}
		return nil, err
	}
	// Verified already: a pending copy that could not be deleted expires
	// on its own (and cannot be verified twice: the record names a TOTP).
	_ = s.st.Delete(ctx, pendingKey(uid))
	return &Verified{ID: rec.ID, CreatedAt: verified.CreatedAt, BackupCodes: codes}, nil
}

// CheckTOTP reports whether code is the user's current authenticator
// code. A code is accepted once: its time step is remembered, in the same
// atomic update that accepts it, and no step at or before it is accepted
// again, so a replayed code (or a code older than one already used) fails
// even when requests race.
func (s *Service) CheckTOTP(ctx context.Context, uid, code string) (bool, error) {
	if !s.cfg.TOTP || !wellFormedTOTP(code) {
		return false, nil
	}
	st, err := s.load(ctx, uid)
	if err != nil || st.TOTPID == "" {
		return false, err
	}
	id := st.TOTPID
	rec, err := s.readSecret(ctx, totpKey(uid, id))
	if errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("the TOTP secret %s of user %s is missing", id, uid)
	}
	if err != nil {
		return false, err
	}
	steps, err := s.matchingSteps(rec.Secret, code)
	if err != nil || len(steps) == 0 {
		return false, err
	}
	ok := false
	err = s.update(ctx, uid, func(st *state) error {
		ok = false
		if st.TOTPID != id {
			return errNoChange // removed or replaced meanwhile
		}
		step, found := firstAfter(steps, st.LastStep)
		if !found {
			return errNoChange // a replay
		}
		st.LastStep, ok = step, true
		return nil
	})
	return ok, err
}

// DisableTOTP removes the user's authenticator app. With Required, the
// last second factor cannot be removed. Backup codes go with the last
// second factor.
func (s *Service) DisableTOTP(ctx context.Context, uid string) error {
	var id string
	err := s.update(ctx, uid, func(st *state) error {
		id = st.TOTPID
		if id == "" {
			return ErrNoTOTP
		}
		st.TOTPID, st.TOTPAt = "", time.Time{}
		return s.afterRemoval(st)
	})
	if err != nil {
		return err
	}
	return s.forgetSecret(ctx, uid, id)
}

// afterRemoval applies the rules once a factor is gone from st: the last
// one may not go when a second factor is required, and backup codes do
// not outlive the last factor.
func (s *Service) afterRemoval(st *state) error {
	if s.enabled(st) {
		return nil
	}
	if s.cfg.Required {
		return ErrFactorRequired
	}
	st.Backup, st.BackupID, st.BackupAt = nil, "", time.Time{}
	return nil
}

// forgetSecret deletes a verified secret and its rewrap listing.
func (s *Service) forgetSecret(ctx context.Context, uid, id string) error {
	k := totpKey(uid, id)
	if err := s.st.Delete(ctx, k); err != nil {
		return fmt.Errorf("deleting the TOTP secret: %w", err)
	}
	if err := s.st.RemoveMember(ctx, enrolledKey, k); err != nil {
		return fmt.Errorf("unlisting the TOTP secret: %w", err)
	}
	return nil
}

func (s *Service) putSecret(ctx context.Context, key string, rec secretRecord, ttl time.Duration) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := s.st.Put(ctx, key, data, ttl); err != nil {
		return fmt.Errorf("storing the TOTP secret: %w", err)
	}
	return nil
}

func (s *Service) readSecret(ctx context.Context, key string) (*secretRecord, error) {
	data, err := s.st.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	rec := new(secretRecord)
	if err := json.Unmarshal(data, rec); err != nil {
		return nil, fmt.Errorf("decoding the TOTP secret: %w", err)
	}
	return rec, nil
}

// matchingSteps returns, in ascending order, the time steps within skew
// of now whose code is code.
func (s *Service) matchingSteps(secret, code string) ([]int64, error) {
	if !wellFormedTOTP(code) {
		return nil, nil
	}
	now := s.now().Unix() / period
	var out []int64
	for step := now - skew; step <= now+skew; step++ {
		want, err := generate(secret, step, digits)
		if err != nil {
			return nil, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			out = append(out, step)
		}
	}
	return out, nil
}

// generate is the code of secret (base32) at time step step (RFC 6238:
// HOTP of the step counter).
func generate(secret string, step int64, n otp.Digits) (string, error) {
	if step < 0 {
		return "", errors.New("mfa: negative time step")
	}
	code, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: n, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		return "", fmt.Errorf("computing a TOTP code: %w", err)
	}
	return code, nil
}

// CodeAt is the authenticator code of secret at time t, for tests and
// tools that play the user's phone.
func CodeAt(secret string, t time.Time) (string, error) {
	return generate(secret, t.Unix()/period, digits)
}

// firstAfter is the first of the ascending steps after last.
func firstAfter(steps []int64, last int64) (int64, bool) {
	for _, s := range steps {
		if s > last {
			return s, true
		}
	}
	return 0, false
}

// wellFormedTOTP reports whether c is six ASCII digits.
func wellFormedTOTP(c string) bool {
	if len(c) != digits.Length() {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] < '0' || c[i] > '9' {
			return false
		}
	}
	return true
}
