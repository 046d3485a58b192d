package signin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/store"
)

// subject is what a failure limit (the password lockout, the code
// budget) counts against: a user's account; one device of a user, a
// client that signed in as them before; or an unknown identifier, which
// gets every limit a user gets, keyed by an HMAC of the identifier, so
// that the answers do not tell the two apart.
type subject struct {
	// key ends the store keys of the limits ("lock:"+key, ...): a user id,
	// a fake identification id (idn_…) or a device id (dev_…), which never
	// collide.
	key string
	// fields name the subject in logs and audit events.
	fields []zap.Field
}

// with returns the subject's fields followed by more, for one log line.
func (s subject) with(more ...zap.Field) []zap.Field {
	return append(slices.Clip(s.fields), more...)
}

func userSubject(uid string) subject {
	return subject{key: uid, fields: []zap.Field{zap.String("user_id", uid)}}
}

// accountOf is the subject of an attempt's account-wide limits. For an
// unknown identifier it is the fake identification id, an HMAC of the
// normalised identifier under the code key.
func accountOf(a *Attempt) subject {
	if a.Fake {
		return subject{key: a.FakeID, fields: []zap.Field{zap.String("identification_id", a.FakeID)}}
	}
	return userSubject(a.UserID)
}

// macUserID is the user id the HMACs of an attempt are bound to; an
// unknown identifier has a fake one, so that it costs the same HMACs
// and store reads as a known one. It names no user: users.Get on it
// finds nothing.
func macUserID(a *Attempt) string {
	if a.Fake {
		return "user_" + strings.TrimPrefix(a.FakeID, "idn_")
	}
	return a.UserID
}

// Device records: a client that signed in as a user keeps, for that user,
// its own password-failure budget (OWASP "device cookies"): strangers who
// lock the account do not lock out the browsers its owner uses, and that
// browser's own wrong passwords lock only itself. The client id is the
// device: it survives the rotation of the __client handle.
func deviceKey(deviceID string) string { return "device:" + deviceID }

// deviceID names the pair (client, user) without revealing either.
func (s *Service) deviceID(ctx context.Context, clientID, userID string) (string, error) {
	return s.keyedID(ctx, "dev", "device", clientID, userID)
}

// keyedID is an id with prefix derived from parts (NUL-separated) under
// the code key, by HMAC-SHA-256: the same parts give the same id, which
// tells nothing of them and cannot be guessed without the key.
func (s *Service) keyedID(ctx context.Context, prefix string, parts ...string) (string, error) {
	key, err := s.keys.Get(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return ids.FromBytes(prefix, m.Sum(nil)), nil
}

// passwordSubject is what the password lockout of an attempt counts
// against: the device when the caller's client signed in as this user
// before, else the account. Unknown identifiers do the same work (an
// HMAC and a read) and always get the account.
func (s *Service) passwordSubject(ctx context.Context, rq Request, a *Attempt) (subject, error) {
	dev, err := s.deviceID(ctx, rq.Client.ID, macUserID(a))
	if err != nil {
		return subject{}, err
	}
	_, err = s.st.Get(ctx, deviceKey(dev))
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return subject{}, fmt.Errorf("reading device: %w", err)
	case err != nil || a.Fake:
		return accountOf(a), nil
	}
	return subject{key: dev, fields: []zap.Field{zap.String("user_id", a.UserID), zap.String("device_id", dev)}}, nil
}

// rememberDevice records that the client signed in as the user. It is
// best effort: without the record the client only shares the account's
// lockout, as a new one does.
func (s *Service) rememberDevice(ctx context.Context, rq Request, uid string) {
	dev, err := s.deviceID(ctx, rq.Client.ID, uid)
	if err == nil {
		err = s.st.Put(ctx, deviceKey(dev), []byte("1"), s.cfg.DeviceLifetime)
	}
	if err != nil {
		s.log.Warn("recording the device of a sign-in failed", zap.String("user_id", uid), zap.Error(err))
	}
}
