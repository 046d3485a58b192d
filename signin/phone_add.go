package signin

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/internal/ids"
	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/internal/record"
	"github.com/authgate/authgate/internal/smsguard"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/users"
)

// A signed-in user adding a phone number to their own account, as
// clerk-js does it: user.createPhoneNumber({phoneNumber}), then
// phoneNumber.prepareVerification() and attemptVerification({code}).
//
// Until its code is right a new number is no identifier at all: it lives
// in the user's list of unverified phones (below), not in the user
// record, so it signs nobody in, gets no sign-in code and blocks nobody
// else from the number. The right code is the moment it is claimed, by
// users.AddPhone's claim protocol (atomic over every instance): a number
// another account holds by then gives form_identifier_exists, as Clerk
// answers a signed-in user. Codes are a sign-in code's (HMAC bound to the
// user, the phone id and the number; code_ttl; resend wait; send limits;
// code_max_attempts reserved before the compare; the account's code
// budget; used once), and SMS goes only where sign-up may text
// (internal/smsguard: the phone_countries, mobile numbers, SMS budgets).

// PhoneVerification is the state of an unverified phone's code.
type PhoneVerification struct {
	// Status is "unverified" (no code yet, or one waiting), "failed"
	// (code_max_attempts wrong codes) or "verified".
	Status   string    `json:"status"`
	Attempts int       `json:"attempts"`
	ExpireAt time.Time `json:"expire_at,omitzero"`
}

// NewPhone is a phone number a user added and has not verified yet.
type NewPhone struct {
	ID           string            `json:"id"`
	Value        string            `json:"value"`
	Region       string            `json:"region"`
	CreatedAt    time.Time         `json:"created_at"`
	Verification PhoneVerification `json:"verification"`
}

// Verified reports whether the phone was verified (it is then the
// user's identifier, and in the user record).
func (p *NewPhone) Verified() bool { return p.Verification.Status == "verified" }

// newPhonesKey holds a user's unverified phones; newPhoneCodeKey and
// newPhoneFailKey the code and wrong tries of one, newPhoneResendKey its
// resend wait. One hash tag per user, so that multi-key Deletes stay on
// one Redis Cluster slot.
func newPhonesKey(uid string) string           { return "newphone:{" + uid + "}:list" }
func newPhoneCodeKey(uid, pid string) string   { return "newphone:{" + uid + "}:code:" + pid }
func newPhoneFailKey(uid, pid string) string   { return "newphone:{" + uid + "}:fail:" + pid }
func newPhoneResendKey(uid, pid string) string { return "newphone:{" + uid + "}:resend:" + pid }

// newPhoneBinding names what a code verifies (apart from sign-in and
// reverification codes, by "newphone:").
func newPhoneBinding(uid string, p *NewPhone) []string {
	return []string{uid, p.ID, "newphone:" + p.Value}
}

// mayEditPhones is who may add a phone: an active session, or one whose
// next task is setup-mfa (a phone is how it gets its second factor).
// Adding a number is no factor change, so no reverification: verifying
// it is the step that adds an identifier, and asks for one (mayChange).
func (s *Service) mayEditPhones(sess *session.Session) error {
	if !sess.SignedIn(s.now()) {
		return apierr.SignedOut
	}
	if err := s.mayChange(sess, true); err != nil && !errors.Is(err, apierr.SessionReverificationRequired) {
		return err
	}
	return nil
}

// NewPhones lists the user's unverified phones.
func (s *Service) NewPhones(ctx context.Context, uid string) ([]NewPhone, error) {
	list, err := store.GetJSON[[]NewPhone](ctx, s.st, newPhonesKey(uid), nil, "unverified phones")
	if list == nil || err != nil {
		return nil, err
	}
	return *list, nil
}

// CreatePhone adds an unverified phone number to u (POST
// /v1/me/phone_numbers). A number the user already has is refused as
// taken; one waiting for its code already is answered as it is.
func (s *Service) CreatePhone(ctx context.Context, u *users.User, sess *session.Session, raw string) (*NewPhone, error) {
	if err := s.mayEditPhones(sess); err != nil {
		return nil, err
	}
	if strings.TrimSpace(raw) == "" {
		return nil, paramMissing("phone_number")
	}
	v, err := users.NormalizePhone(raw)
	if err != nil {
		return nil, err
	}
	region, err := smsguard.Region(v, s.cfg.PhoneCountries, "phone_number", "verification codes")
	if err != nil {
		return nil, err
	}
	if u.IdentificationOf(users.KindPhone, v).ID != "" {
		return nil, apierr.FormIdentifierExists.WithParam("phone_number")
	}
	out := &NewPhone{ID: ids.New("idn"), Value: v, Region: region, CreatedAt: s.stamp(),
		Verification: PhoneVerification{Status: "unverified"}}
	err = s.updateNewPhones(ctx, u.ID, func(list []NewPhone) ([]NewPhone, error) {
		if i := slices.IndexFunc(list, func(p NewPhone) bool { return p.Value == v }); i >= 0 {
			*out = list[i]
			return nil, record.Unchanged
		}
		if len(list) >= s.cfg.UnverifiedPhones {
			return nil, apierr.FormParamValueInvalid.WithParam("phone_number").
				WithLongMessage("Verify or remove one of your unverified phone numbers first.")
		}
		return append(list, *out), nil
	})
	if err != nil {
		return nil, err
	}
	s.emit(ctx, "phone_added", zap.String("user_id", u.ID), zap.Bool("verified", false))
	return out, nil
}

// updateNewPhones changes the user's list atomically; it lives as long
// as an attempt does after its last change.
func (s *Service) updateNewPhones(ctx context.Context, uid string, fn func([]NewPhone) ([]NewPhone, error)) error {
	return record.Update(ctx, s.st, newPhonesKey(uid), "unverified phones",
		func(v *[]NewPhone, _ bool) (*[]NewPhone, time.Duration, error) {
			next, err := fn(*v)
			if err != nil {
				return nil, 0, err
			}
			if len(next) == 0 {
				return nil, 0, nil
			}
			return &next, s.cfg.AttemptLifetime, nil
		})
}

// newPhone is the user's unverified phone pid.
func (s *Service) newPhone(ctx context.Context, uid, pid string) (*NewPhone, error) {
	list, err := s.NewPhones(ctx, uid)
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].ID == pid {
			return &list[i], nil
		}
	}
	return nil, apierr.ResourceNotFound.WithLongMessage("No phone number was found with this id.")
}

// setVerification records v as pid's verification state.
func (s *Service) setVerification(ctx context.Context, uid, pid string, v PhoneVerification) error {
	return s.updateNewPhones(ctx, uid, func(list []NewPhone) ([]NewPhone, error) {
		for i := range list {
			if list[i].ID == pid {
				list[i].Verification = v
			}
		}
		return list, nil
	})
}

// PreparePhone texts a code to the user's unverified phone pid
// (strategy phone_code), or again after the resend wait.
func (s *Service) PreparePhone(ctx context.Context, rq Request, u *users.User, sess *session.Session, pid, strategy string) (*NewPhone, error) {
	if err := s.mayEditPhones(sess); err != nil {
		return nil, err
	}
	if strategy != StrategyPhoneCode {
		return nil, apierr.VerificationStrategyInvalid.WithParam("strategy")
	}
	p, err := s.newPhone(ctx, u.ID, pid)
	if err != nil {
		return nil, err
	}
	if err := ratelimit.Resend(ctx, s.st, newPhoneResendKey(u.ID, pid), s.cfg.ResendAfter); err != nil {
		return nil, err
	}
	if err := s.throttle.send(ctx, p.Value, rq.IP); err != nil {
		return nil, err
	}
	if err := s.smsLimits().Allow(ctx, s.st, p.Region, p.Value, rq.IP); err != nil {
		return nil, err
	}
	ttl := s.cfg.CodeTTL + margin
	code, err := codes.Issue(ctx, s.st, s.keys, newPhoneCodeKey(u.ID, pid), ttl, false, newPhoneBinding(u.ID, p)...)
	if err != nil {
		return nil, err
	}
	p.Verification = PhoneVerification{Status: "unverified", ExpireAt: s.stamp().Add(s.cfg.CodeTTL)}
	if err := s.st.Delete(ctx, newPhoneFailKey(u.ID, pid)); err != nil {
		return nil, err
	}
	if err := s.setVerification(ctx, u.ID, pid, p.Verification); err != nil {
		return nil, err
	}
	n := notify.Notice{Channel: notify.ChannelSMS, Kind: notify.KindSignInCode, To: p.Value, Code: code, ExpiresIn: s.cfg.CodeTTL}
	if err := s.deliver.Deliver(ctx, n); err != nil {
		if derr := s.st.Delete(ctx, newPhoneCodeKey(u.ID, pid)); derr != nil {
			s.log.Warn("deleting an undelivered phone code failed", zap.String("user_id", u.ID), zap.Error(derr))
		}
		s.log.Error("delivering a phone verification code failed", zap.String("user_id", u.ID), zap.Error(err))
		return nil, apierr.DeliveryFailed
	}
	s.emit(ctx, "code_sent", zap.String("strategy", StrategyPhoneCode), zap.String("channel", string(notify.ChannelSMS)), zap.Bool("delivered", true))
	return p, nil
}

// smsLimits are sign-up's SMS budgets, counted on their own.
func (s *Service) smsLimits() smsguard.Limits {
	return smsguard.Limits{Key: "newphone:sms:", PerIPCountry: s.cfg.SMSPerIPPerCountry, PerCountry: s.cfg.SMSPerCountry,
		PerPrefix: s.cfg.SMSPerPrefix, Window: s.cfg.SMSWindow}
}

// AttemptPhone checks the code of the user's unverified phone pid; the
// right one makes the number the user's (users.AddPhone) under the same
// id. It needs a session that may add a factor (a recent first factor),
// since it adds a way to sign in. It returns the user afterwards.
func (s *Service) AttemptPhone(ctx context.Context, u *users.User, sess *session.Session, pid, code string) (*users.User, error) {
	if err := s.mayChange(sess, true); err != nil {
		return nil, err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, paramMissing("code")
	}
	p, err := s.newPhone(ctx, u.ID, pid)
	if err != nil {
		return nil, err
	}
	if err := s.checkPhoneCode(ctx, u, p, code); err != nil {
		return nil, err
	}
	nu, err := s.users.AddPhone(ctx, u.ID, p.ID, p.Value)
	var taken *apierr.Error
	if errors.As(err, &taken) && taken.Code == apierr.FormIdentifierExists.Code {
		// Another account has the number: this one can never verify it.
		if ferr := s.forgetNewPhone(ctx, u.ID, pid); ferr != nil {
			s.log.Warn("clearing a taken phone's record failed", zap.String("user_id", u.ID), zap.Error(ferr))
		}
	}
	if err != nil {
		return nil, err
	}
	if err := s.forgetNewPhone(ctx, u.ID, pid); err != nil {
		s.log.Warn("clearing a verified phone's record failed", zap.String("user_id", u.ID), zap.Error(err))
	}
	s.emit(ctx, "phone_added", zap.String("user_id", u.ID), zap.Bool("verified", true))
	return nu, nil
}

// checkPhoneCode spends one of p's code_max_attempts and one of the
// account's code budget before comparing code, then compares (and uses
// up) it atomically.
func (s *Service) checkPhoneCode(ctx context.Context, u *users.User, p *NewPhone, code string) error {
	switch {
	case p.Verification.Status == "failed":
		return apierr.VerificationFailed
	case p.Verification.ExpireAt.IsZero():
		return apierr.VerificationNotSent
	case !s.now().Before(p.Verification.ExpireAt):
		return apierr.VerificationExpired
	}
	account := userSubject(u.ID)
	r, err := s.budget.reserve(ctx, account)
	if err != nil {
		return err
	}
	tries, err := codes.Try(ctx, s.st, newPhoneFailKey(u.ID, p.ID), s.cfg.CodeTTL+margin)
	if err != nil {
		return err
	}
	ok := false
	if int(tries) <= s.cfg.CodeMaxAttempts {
		if ok, err = codes.Consume(ctx, s.st, s.keys, newPhoneCodeKey(u.ID, p.ID), code, newPhoneBinding(u.ID, p)...); err != nil {
			return err
		}
	}
	if ok {
		s.budget.release(ctx, account, r)
		return nil
	}
	s.emit(ctx, "code_attempt", zap.String("strategy", StrategyPhoneCode), zap.String("result", "incorrect"))
	if err := s.budget.failed(ctx, account, r); err != nil {
		return err
	}
	v := p.Verification
	v.Attempts = min(int(tries), s.cfg.CodeMaxAttempts)
	if int(tries) >= s.cfg.CodeMaxAttempts {
		v.Status = "failed"
	}
	if err := s.setVerification(ctx, u.ID, p.ID, v); err != nil {
		return err
	}
	if v.Status == "failed" {
		return apierr.VerificationFailed
	}
	return apierr.FormCodeIncorrect.WithParam("code")
}

// forgetNewPhone drops pid from the user's unverified phones with its
// code state.
func (s *Service) forgetNewPhone(ctx context.Context, uid, pid string) error {
	err := s.updateNewPhones(ctx, uid, func(list []NewPhone) ([]NewPhone, error) {
		return slices.DeleteFunc(list, func(p NewPhone) bool { return p.ID == pid }), nil
	})
	if err != nil {
		return err
	}
	return s.st.Delete(ctx, newPhoneCodeKey(uid, pid), newPhoneFailKey(uid, pid))
}

// DeletePhone removes one of the user's phones (DELETE
// /v1/me/phone_numbers/{id}): an unverified one at once; a verified one
// only from a session that may change factors (reverified), not when it
// is the user's last identifier, and, when reserved as a second factor,
// only as the mfa rules let it go (not the last one while one is
// required).
func (s *Service) DeletePhone(ctx context.Context, u *users.User, sess *session.Session, pid string) error {
	if phoneValue(u, pid) == "" {
		if err := s.mayEditPhones(sess); err != nil {
			return err
		}
		if _, err := s.newPhone(ctx, u.ID, pid); err != nil {
			return err
		}
		return s.forgetNewPhone(ctx, u.ID, pid)
	}
	if err := s.mayChange(sess, false); err != nil {
		return err
	}
	// users.RemovePhone refuses this too; asking first keeps a phone
	// that cannot go from losing its second-factor reservation below.
	if len(u.Phones)+len(u.Emails) == 1 && u.Username == "" {
		return users.ErrLastIdentifier
	}
	st, err := s.MFAStatus(ctx, u)
	if err != nil {
		return err
	}
	if slices.Contains(st.Phones, pid) {
		if _, err := s.mfa.ReservePhone(ctx, u.ID, pid, false); err != nil {
			return err
		}
	}
	if _, err := s.users.RemovePhone(ctx, u.ID, pid); err != nil {
		if errors.Is(err, users.ErrNotFound) {
			return apierr.ResourceNotFound
		}
		return err
	}
	s.emit(ctx, "phone_removed", zap.String("user_id", u.ID))
	return nil
}
