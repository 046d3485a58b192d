package signin

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/users"
)

// oldSession is a sign-in of u (by a code: u may have no password) whose
// first factor is older than the reverification window.
func (e *env) oldSession(u *users.User) *session.Session {
	e.t.Helper()
	rq := e.request()
	res, sent := e.codeSent(rq, StrategyEmailCode, u.PrimaryEmail())
	res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: sent})
	if res.Session == nil {
		e.t.Fatalf("code sign-in: %+v", res.Attempt)
	}
	e.clock.Advance(10*time.Minute + time.Second)
	return res.Session
}

// reverifyCodeSent sends u's reverification code for sess by email and
// returns the code delivered.
func (e *env) reverifyCodeSent(u *users.User, sess *session.Session) string {
	e.t.Helper()
	if _, err := e.svc.PrepareReverifyCode(e.ctx, e.request(), u, sess, StrategyEmailCode, ""); err != nil {
		e.t.Fatal(err)
	}
	return e.out.lastCode(e.t, e.pool)
}

// A user without a password reverifies with a code sent to the email
// address, once; the code is bound to the session and to its strategy.
func TestReverifyByCode(t *testing.T) {
	e := newEnv(t)
	u := e.user(users.NewUser{Emails: []string{adaEmail}, Phones: []string{adaPhone}})
	other := e.oldSession(u)
	sess := e.oldSession(u)
	_, err := e.svc.EnrollTOTP(e.ctx, u, sess)
	wantErr(t, err, apierr.SessionReverificationRequired, "")

	_, err = e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, "123456")
	wantErr(t, err, apierr.VerificationNotSent, "")
	rc, err := e.svc.PrepareReverifyCode(e.ctx, e.request(), u, sess, StrategyEmailCode, "")
	if err != nil {
		t.Fatal(err)
	}
	n := e.out.last(t, e.pool)
	if rc.Target != adaEmail || rc.TargetID != u.Emails[0].ID || n.To != adaEmail || n.Channel != notify.ChannelEmail {
		t.Fatalf("sent %+v as %+v", rc, n)
	}
	code := n.Code
	_, err = e.svc.PrepareReverifyCode(e.ctx, e.request(), u, sess, StrategyEmailCode, "")
	wantErr(t, err, apierr.VerificationCodeTooManyRequests, "")

	_, err = e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyPhoneCode, code)
	wantErr(t, err, apierr.VerificationStrategyInvalid, "")
	_, err = e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, wrongCode(code))
	wantErr(t, err, apierr.FormCodeIncorrect, "code")
	// Another session of the user cannot use it.
	_, err = e.svc.ReverifyWithCode(e.ctx, u, other, StrategyEmailCode, code)
	wantErr(t, err, apierr.VerificationNotSent, "")

	fresh := e.wantReverified(u)(e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, code))
	_, err = e.svc.ReverifyWithCode(e.ctx, u, fresh, StrategyEmailCode, code)
	wantErr(t, err, apierr.VerificationNotSent, "")
	if got := e.ev.one(t, "session_reverified"); got.fields["strategy"] != StrategyEmailCode {
		t.Fatalf("audit event %+v", got)
	}
}

// The phone: a code by SMS to the phone named; unknown ids and strategies
// without a code are refused.
func TestReverifyByPhoneCode(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	sess := e.oldSession(u)
	_, err := e.svc.PrepareReverifyCode(e.ctx, e.request(), u, sess, StrategyPhoneCode, "idn_unknown")
	wantErr(t, err, apierr.ResourceNotFound, "")
	_, err = e.svc.PrepareReverifyCode(e.ctx, e.request(), u, sess, StrategyPassword, "")
	wantErr(t, err, apierr.StrategyForUserInvalid, "strategy")
	_, err = e.svc.PrepareReverifyCode(e.ctx, e.request(), u, sess, "", "")
	wantErr(t, err, apierr.FormParamMissing, "strategy")
	if _, err := e.svc.PrepareReverifyCode(e.ctx, e.request(), u, sess, StrategyPhoneCode, u.Phones[0].ID); err != nil {
		t.Fatal(err)
	}
	n := e.out.last(t, e.pool)
	if n.To != adaPhone || n.Channel != notify.ChannelSMS {
		t.Fatalf("sent %+v", n)
	}
	if _, err := e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyPhoneCode, n.Code); err != nil {
		t.Fatal(err)
	}
}

// A code expires with code_ttl; a resend replaces it.
func TestReverifyCodeExpiresAndResends(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	sess := e.oldSession(u)
	first := e.reverifyCodeSent(u, sess)
	e.clock.Advance(e.cfg.ResendAfter)
	second := e.reverifyCodeSent(u, sess)
	if first != second {
		_, err := e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, first)
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
	}
	e.clock.Advance(e.cfg.CodeTTL)
	_, err := e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, second)
	wantErr(t, err, apierr.VerificationExpired, "")
}

// Wrong reverification codes count toward the account's code budget
// (LockoutAttempts 3 here), which holds against the right code too.
func TestReverifyCodeCountsInCodeBudget(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	sess := e.oldSession(u)
	code := e.reverifyCodeSent(u, sess)
	for range e.cfg.LockoutAttempts - 1 {
		_, err := e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, wrongCode(code))
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
	}
	_, err := e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, wrongCode(code))
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
	_, err = e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, code)
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
	e.clock.Advance(e.cfg.CodeLockoutBase)
	if _, err := e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, code); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
}

// code_max_attempts ends a reverification code.
func TestReverifyCodeMaxAttempts(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockoutAttempts = 100 })
	u := e.ada()
	sess := e.oldSession(u)
	code := e.reverifyCodeSent(u, sess)
	for i := 1; i <= e.cfg.CodeMaxAttempts; i++ {
		_, err := e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, wrongCode(code))
		if i < e.cfg.CodeMaxAttempts {
			wantErr(t, err, apierr.FormCodeIncorrect, "code")
		} else {
			wantErr(t, err, apierr.VerificationFailed, "")
		}
	}
	_, err := e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, code)
	wantErr(t, err, apierr.VerificationFailed, "")
}

// One right code, 20 racing requests: exactly one reverifies.
func TestReverifyCodeRace(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockoutAttempts = 100 })
	u := e.ada()
	sess := e.oldSession(u)
	code := e.reverifyCodeSent(u, sess)
	var won atomic.Int32
	testenv.Together(20, func(int) {
		if _, err := e.svc.ReverifyWithCode(e.ctx, u, sess, StrategyEmailCode, code); err == nil {
			won.Add(1)
		}
	})
	if won.Load() != 1 {
		t.Fatalf("%d of 20 racing requests reverified, want 1", won.Load())
	}
}

// TestReverifyKeysShareASlot: the keys of one session's reverification
// carry the same Redis Cluster hash tag, so the multi-key Deletes that
// clear a used or undelivered code take them together on a cluster (a
// CROSSSLOT refusal would leave the used code's record behind).
func TestReverifyKeysShareASlot(t *testing.T) {
	const sid = "sess_abc"
	for _, k := range []string{reverifyCodeKey(sid), reverifyMetaKey(sid), reverifyFailKey(sid), reverifyResendKey(sid)} {
		open, close := strings.IndexByte(k, '{'), strings.IndexByte(k, '}')
		if open < 0 || close < open || k[open+1:close] != sid {
			t.Errorf("key %q: hash tag is not {%s}", k, sid)
		}
	}
}
