package signin

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/codes"
	"github.com/authgate/authgate/internal/ratelimit"
	"github.com/authgate/authgate/internal/record"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/users"
)

// Reverification by a code (Clerk's session.prepareFirstFactorVerification
// and attemptFirstFactorVerification with email_code or phone_code), for
// a user without a password or one who prefers a code. The code is bound
// to the session (its HMAC names the session, the user and the strategy)
// and gets what a sign-in code gets: the code lifetime, the resend wait,
// the send limits per address and per IP, code_max_attempts, and the
// account's code budget. It is used once: one atomic compare-and-delete.

// The keys of a session's reverification share one Redis Cluster hash
// tag ({<session id>}), so that the multi-key Deletes below take them
// together on a cluster too (keys of different slots would be refused
// with CROSSSLOT, leaving a used code's record behind).
func reverifyCodeKey(sid string) string   { return "reverify:{" + sid + "}:code" }
func reverifyMetaKey(sid string) string   { return "reverify:{" + sid + "}:meta" }
func reverifyFailKey(sid string) string   { return "reverify:{" + sid + "}:fail" }
func reverifyResendKey(sid string) string { return "reverify:{" + sid + "}:resend" }

// reverifyBinding is what a reverification code is bound to (the parts
// of its MAC before the code): the session, the user and the strategy,
// named apart ("reverify:") so that it never verifies as a sign-in code,
// nor a sign-in code as one of these.
func reverifyBinding(sid, uid, strategy string) []string {
	return []string{sid, uid, "reverify:" + strategy}
}

// ReverifyCode is a reverification code sent.
type ReverifyCode struct {
	Strategy string `json:"strategy"`
	// TargetID and Target are the email address or phone it went to.
	TargetID string    `json:"target_id"`
	Target   string    `json:"target"`
	ExpireAt time.Time `json:"expire_at"`
}

// reverifyTarget is the user's email (email_code) or phone (phone_code)
// with id targetID, or the first one when targetID is empty.
func reverifyTarget(u *users.User, strategy, targetID string) (users.Identification, error) {
	var list []users.Identification
	switch strategy {
	case StrategyEmailCode:
		list = u.Emails
	case StrategyPhoneCode:
		list = u.Phones
	default:
		return users.Identification{}, apierr.StrategyForUserInvalid.WithParam("strategy")
	}
	for _, id := range list {
		if targetID == "" || id.ID == targetID {
			return id, nil
		}
	}
	if targetID != "" {
		return users.Identification{}, apierr.ResourceNotFound.WithLongMessage("No email address or phone number was found with this id.")
	}
	return users.Identification{}, apierr.StrategyForUserInvalid.WithParam("strategy")
}

// PrepareReverifyCode sends a reverification code for sess to the user's
// email address or phone (strategy email_code or phone_code; targetID the
// identification, empty for the first one).
func (s *Service) PrepareReverifyCode(ctx context.Context, rq Request, u *users.User, sess *session.Session, strategy, targetID string) (*ReverifyCode, error) {
	if !sess.SignedIn(s.now()) {
		return nil, apierr.SignedOut
	}
	if strategy == "" {
		return nil, paramMissing("strategy")
	}
	target, err := reverifyTarget(u, strategy, targetID)
	if err != nil {
		return nil, err
	}
	if err := ratelimit.Resend(ctx, s.st, reverifyResendKey(sess.ID), s.cfg.ResendAfter); err != nil {
		return nil, err
	}
	if err := s.throttle.send(ctx, target.Value, rq.IP); err != nil {
		return nil, err
	}
	rc := &ReverifyCode{Strategy: strategy, TargetID: target.ID, Target: target.Value,
		ExpireAt: s.stamp().Add(s.cfg.CodeTTL)}
	// The store keeps both a little past the code's life: the clock
	// decides expiry (ExpireAt), as for sign-in codes.
	ttl := s.cfg.CodeTTL + margin
	// The code first: without its record, a stored code is "not sent".
	code, err := codes.Issue(ctx, s.st, s.keys, reverifyCodeKey(sess.ID), ttl, false, reverifyBinding(sess.ID, u.ID, strategy)...)
	if err != nil {
		return nil, err
	}
	if err := record.Put(ctx, s.st, reverifyMetaKey(sess.ID), "reverification", rc, ttl); err != nil {
		return nil, err
	}
	channel := notify.ChannelEmail
	if strategy == StrategyPhoneCode {
		channel = notify.ChannelSMS
	}
	n := notify.Notice{Channel: channel, Kind: notify.KindSignInCode, To: target.Value, Code: code, ExpiresIn: s.cfg.CodeTTL}
	if err := s.deliver.Deliver(ctx, n); err != nil {
		// Nobody has the code: nobody should guess it, and a code typed
		// now is "not sent", not a wrong one against the budget.
		if derr := s.st.Delete(ctx, reverifyCodeKey(sess.ID), reverifyMetaKey(sess.ID)); derr != nil {
			s.log.Warn("deleting an undelivered reverification code failed", zap.String("session_id", sess.ID), zap.Error(derr))
		}
		s.log.Error("delivering reverification code failed", zap.String("session_id", sess.ID), zap.String("strategy", strategy), zap.Error(err))
		return nil, apierr.DeliveryFailed
	}
	s.emit(ctx, "code_sent", zap.String("strategy", strategy), zap.String("channel", string(channel)), zap.Bool("delivered", true))
	return rc, nil
}

// ReverifyWithCode checks a reverification code of sess and records the
// reverification. A wrong code counts toward code_max_attempts and the
// account's code budget; a right one gives its own try back (the wrong
// ones before it stay counted, as for a first factor before a second).
func (s *Service) ReverifyWithCode(ctx context.Context, u *users.User, sess *session.Session, strategy, code string) (*session.Session, error) {
	if !sess.SignedIn(s.now()) {
		return nil, apierr.SignedOut
	}
	if code == "" {
		return nil, paramMissing("code")
	}
	rc, err := s.pendingReverify(ctx, sess.ID, strategy)
	if err != nil {
		return nil, err
	}
	account := userSubject(u.ID)
	r, err := s.budget.reserve(ctx, account)
	if err != nil {
		return nil, err
	}
	tries, err := codes.Try(ctx, s.st, reverifyFailKey(sess.ID), s.cfg.CodeTTL+margin)
	if err != nil {
		return nil, err
	}
	ok := false
	if int(tries) <= s.cfg.CodeMaxAttempts {
		if ok, err = codes.Consume(ctx, s.st, s.keys, reverifyCodeKey(sess.ID), code, reverifyBinding(sess.ID, u.ID, rc.Strategy)...); err != nil {
			return nil, err
		}
	}
	if !ok {
		s.emit(ctx, "code_attempt", zap.String("strategy", rc.Strategy), zap.String("result", "incorrect"))
		if err := s.budget.failed(ctx, account, r); err != nil {
			return nil, err
		}
		if int(tries) >= s.cfg.CodeMaxAttempts {
			return nil, apierr.VerificationFailed
		}
		return nil, apierr.FormCodeIncorrect.WithParam("code")
	}
	s.budget.release(ctx, account, r)
	if err := s.st.Delete(ctx, reverifyMetaKey(sess.ID), reverifyFailKey(sess.ID)); err != nil {
		s.log.Warn("clearing a used reverification failed", zap.String("session_id", sess.ID), zap.Error(err))
	}
	ns, err := s.sessions.Reverified(ctx, sess.ID)
	if errors.Is(err, session.ErrNotFound) {
		return nil, apierr.SignedOut
	}
	if err != nil {
		return nil, err
	}
	s.emit(ctx, "session_reverified", zap.String("user_id", u.ID), zap.String("session_id", sess.ID), zap.String("strategy", rc.Strategy))
	return ns, nil
}

// pendingReverify is the live reverification code of the session, for
// strategy.
func (s *Service) pendingReverify(ctx context.Context, sid, strategy string) (*ReverifyCode, error) {
	rc, err := store.GetJSON[ReverifyCode](ctx, s.st, reverifyMetaKey(sid), apierr.VerificationNotSent, "reverification")
	if err != nil {
		return nil, err
	}
	if rc.Strategy != strategy {
		return nil, apierr.VerificationStrategyInvalid
	}
	if !s.now().Before(rc.ExpireAt) {
		return nil, apierr.VerificationExpired
	}
	return rc, nil
}
