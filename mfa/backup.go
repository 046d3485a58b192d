package mfa

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authgate/authgate/internal/ids"
)

// Backup codes: BackupCodeCount single-use codes of backupCodeLen
// characters from a 32-letter alphabet without look-alikes (no 0/o, 1/l),
// 50 bits each. Only their HMACs under the server key are stored, so a
// copy of the store cannot test guesses without the (sealed) key.
const (
	BackupCodeCount = 10
	backupCodeLen   = 10
	backupAlphabet  = "abcdefghijkmnpqrstuvwxyz23456789"
)

// BackupCodes is a new set of backup codes, to show once.
type BackupCodes struct {
	ID        string
	Codes     []string
	CreatedAt time.Time
}

// RegenerateBackupCodes replaces the user's backup codes with a new set.
// Backup codes need another second factor: without one they are refused.
func (s *Service) RegenerateBackupCodes(ctx context.Context, uid string) (*BackupCodes, error) {
	if !s.cfg.BackupCodes {
		return nil, ErrBackupCodesOff
	}
	key, err := s.backupKey(ctx)
	if err != nil {
		return nil, err
	}
	var out *BackupCodes
	err = s.update(ctx, uid, func(st *state) error {
		out = nil
		if !s.enabled(st) {
			return ErrNoFactor
		}
		out = s.newBackupCodes(st, key, uid)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UseBackupCode reports whether code is one of the user's unused backup
// codes, and uses it up: the code leaves the record in the same atomic
// update that finds it, so of any number of concurrent requests with one
// code exactly one succeeds. Spaces, hyphens and case do not matter.
func (s *Service) UseBackupCode(ctx context.Context, uid, code string) (bool, error) {
	if !s.cfg.BackupCodes {
		return false, nil
	}
	code = normalizeBackupCode(code)
	if !wellFormedBackupCode(code) {
		return false, nil
	}
	key, err := s.backupKey(ctx)
	if err != nil {
		return false, err
	}
	mac := backupMAC(key, uid, code)
	ok := false
	err = s.update(ctx, uid, func(st *state) error {
		ok = false
		if !s.enabled(st) {
			return errNoChange
		}
		i := slices.IndexFunc(st.Backup, func(h string) bool { return hmac.Equal([]byte(h), []byte(mac)) })
		if i < 0 {
			return errNoChange
		}
		st.Backup = slices.Delete(st.Backup, i, i+1)
		ok = true
		return nil
	})
	return ok, err
}

// firstBackupCodes makes the user's first backup codes when a second
// factor was just added to st and they have none (and backup codes are
// on); it returns them, or nil.
func (s *Service) firstBackupCodes(st *state, key []byte, uid string) []string {
	if !s.cfg.BackupCodes || len(st.Backup) > 0 || !s.enabled(st) {
		return nil
	}
	return s.newBackupCodes(st, key, uid).Codes
}

// newBackupCodes puts a new set of codes into st and returns it.
func (s *Service) newBackupCodes(st *state, key []byte, uid string) *BackupCodes {
	set := &BackupCodes{ID: ids.New("bcode"), CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	st.Backup = st.Backup[:0]
	for range BackupCodeCount {
		c := newBackupCode()
		set.Codes = append(set.Codes, c)
		st.Backup = append(st.Backup, backupMAC(key, uid, c))
	}
	st.BackupID, st.BackupAt = set.ID, set.CreatedAt
	return set
}

// newBackupCode draws one code. The alphabet has 32 letters, so the low
// five bits of a random byte pick one without bias.
func newBackupCode() string {
	b := make([]byte, backupCodeLen)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	for i := range b {
		b[i] = backupAlphabet[b[i]&31]
	}
	return string(b)
}

// backupMAC binds a code to its user: the same code of another user has
// another MAC.
func backupMAC(key []byte, uid, code string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("backup-code\x00" + uid + "\x00" + code))
	return hex.EncodeToString(m.Sum(nil))
}

func normalizeBackupCode(c string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\t':
			return -1
		}
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, c)
}

func wellFormedBackupCode(c string) bool {
	if len(c) != backupCodeLen {
		return false
	}
	for i := 0; i < len(c); i++ {
		if !strings.ContainsRune(backupAlphabet, rune(c[i])) {
			return false
		}
	}
	return true
}

func (s *Service) backupKey(ctx context.Context) ([]byte, error) {
	key, err := s.key.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the backup-code key: %w", err)
	}
	return key, nil
}

// ReservePhone reserves (on) or releases the user's phone number phoneID
// for SMS codes as a second factor (Clerk's reserved_for_second_factor).
// The caller checks that the phone is the user's. When this is the user's
// first second factor, the first backup codes are made and returned.
func (s *Service) ReservePhone(ctx context.Context, uid, phoneID string, on bool) ([]string, error) {
	if !s.cfg.PhoneCode {
		return nil, ErrPhoneCodeOff
	}
	var key []byte
	if on {
		var err error
		if key, err = s.backupKey(ctx); err != nil {
			return nil, err
		}
	}
	var codes []string
	err := s.update(ctx, uid, func(st *state) error {
		codes = nil
		has := slices.Contains(st.Phones, phoneID)
		switch {
		case on && has, !on && !has:
			return errNoChange
		case on:
			st.Phones = append(st.Phones, phoneID)
			codes = s.firstBackupCodes(st, key, uid)
			return nil
		}
		st.Phones = slices.DeleteFunc(st.Phones, func(p string) bool { return p == phoneID })
		return s.afterRemoval(st)
	})
	return codes, err
}
