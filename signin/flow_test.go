package signin

import (
	"testing"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/users"
)

func TestCreateIdentifierFirst(t *testing.T) {
	e := newEnv(t)
	u, rq := e.adaClient()
	res := e.create(rq, CreateParams{Identifier: "Ada@Example.com"})
	a := res.Attempt
	if a.Status != StatusNeedsFirstFactor || a.UserID != u.ID || a.Identifier != adaEmail || a.Kind != users.KindEmail {
		t.Fatalf("attempt = %+v", a)
	}
	if a.Verification != nil || res.Session != nil {
		t.Fatalf("identifier-first attempt has a verification or session: %+v", res)
	}
	if rq.Client.SignInID != a.ID {
		t.Fatalf("client sign-in = %q, want %q", rq.Client.SignInID, a.ID)
	}
	got := e.get(rq, a.ID)
	if got.Attempt.ID != a.ID || got.User.ID != u.ID {
		t.Fatalf("Get = %+v", got)
	}
	if len(e.out.all(e.pool)) != 0 {
		t.Fatal("identifier-first sign-in sent something")
	}
}

func TestCreateWithPassword(t *testing.T) {
	for _, strategy := range []string{"", StrategyPassword} {
		t.Run("strategy="+strategy, func(t *testing.T) {
			e := newEnv(t)
			u, rq := e.adaClient()
			res := e.create(rq, CreateParams{Strategy: strategy, Identifier: adaPhone, Password: adaPass})
			if res.Attempt.Status != StatusComplete || res.Session == nil || res.Session.UserID != u.ID {
				t.Fatalf("result = %+v", res)
			}
			if res.Session.Status != session.StatusActive || res.Attempt.CreatedSessionID != res.Session.ID {
				t.Fatalf("session = %+v", res.Session)
			}
			if v := res.Attempt.Verification; v == nil || v.Strategy != StrategyPassword || v.Status != VerVerified {
				t.Fatalf("verification = %+v", v)
			}
			if ev := e.ev.one(t, "sign_in"); ev.fields["result"] != "complete" {
				t.Fatalf("sign_in event = %+v", ev)
			}
		})
	}
}

func TestCreateParameterErrors(t *testing.T) {
	e := newEnv(t)
	e.ada()
	for _, tc := range []struct {
		name  string
		p     CreateParams
		want  *apierr.Error
		param string
	}{
		{"unsupported strategy", CreateParams{Strategy: "magic_link", Identifier: adaEmail}, apierr.FormParamValueInvalid, "strategy"},
		{"no identifier", CreateParams{}, apierr.FormParamMissing, "identifier"},
		{"password strategy without password", CreateParams{Strategy: StrategyPassword, Identifier: adaEmail}, apierr.FormParamMissing, "password"},
		{"malformed identifier", CreateParams{Identifier: "not an email@"}, apierr.FormParamFormatInvalid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rq := e.request()
			_, err := e.svc.Create(e.ctx, rq, tc.p)
			wantErr(t, err, tc.want, tc.param)
			if rq.Client.SignInID != "" {
				t.Fatal("a failed create attached a sign-in to the client")
			}
		})
	}
}

func TestCreateWithEachCodeStrategy(t *testing.T) {
	for _, tc := range []struct {
		strategy, identifier string
		idKind               users.Kind
		channel              notify.Channel
		kind                 notify.Kind
	}{
		{StrategyEmailCode, adaEmail, users.KindEmail, notify.ChannelEmail, notify.KindSignInCode},
		{StrategyPhoneCode, adaPhone, users.KindPhone, notify.ChannelSMS, notify.KindSignInCode},
		{StrategyResetPasswordEmail, adaEmail, users.KindEmail, notify.ChannelEmail, notify.KindResetCode},
		{StrategyResetPasswordPhone, adaPhone, users.KindPhone, notify.ChannelSMS, notify.KindResetCode},
	} {
		t.Run(tc.strategy, func(t *testing.T) {
			e := newEnv(t)
			u := e.ada()
			res, code := e.codeSent(e.request(), tc.strategy, tc.identifier)
			n := e.out.last(t, e.pool)
			if n.Channel != tc.channel || n.Kind != tc.kind || n.To != tc.identifier || n.ExpiresIn != e.cfg.CodeTTL {
				t.Fatalf("notice = %+v", n)
			}
			v := res.Attempt.Verification
			want := u.IdentificationOf(tc.idKind, tc.identifier)
			if v.Strategy != tc.strategy || v.Status != VerUnverified || v.Target != tc.identifier || v.TargetID != want.ID || v.TargetID == "" {
				t.Fatalf("verification = %+v, want target %+v", v, want)
			}
			if !v.ExpireAt.Equal(e.clock.Now().Add(e.cfg.CodeTTL)) {
				t.Fatalf("code expires at %v", v.ExpireAt)
			}
			if len(code) != CodeLength {
				t.Fatalf("code %q", code)
			}
			if ev := e.ev.one(t, "code_sent"); ev.fields["delivered"] != true || ev.fields["channel"] != string(tc.channel) {
				t.Fatalf("code_sent = %+v", ev)
			}
		})
	}
}

// A code strategy over the channel the identifier is not: with
// enumeration protection only the identifier's own channel may receive
// codes; without it the user's first address of that channel does.
func TestCodeStrategyOnTheOtherChannel(t *testing.T) {
	e := newEnv(t)
	e.ada()
	res := e.create(e.request(), CreateParams{Strategy: StrategyPhoneCode, Identifier: adaEmail})
	if n := e.out.last(t, e.pool); n.To != adaPhone || res.Attempt.Verification.Target != adaPhone {
		t.Fatalf("phone code went to %q", n.To)
	}

	e = newEnv(t, protected)
	e.ada()
	_, err := e.svc.Create(e.ctx, e.request(), CreateParams{Strategy: StrategyPhoneCode, Identifier: adaEmail})
	wantErr(t, err, apierr.StrategyForUserInvalid, "strategy")
}

func TestUnknownIdentifierWithoutProtection(t *testing.T) {
	e := newEnv(t)
	for _, p := range []CreateParams{
		{Identifier: "nobody@example.com"},
		{Identifier: "nobody@example.com", Password: adaPass},
		{Strategy: StrategyEmailCode, Identifier: "nobody@example.com"},
	} {
		_, err := e.svc.Create(e.ctx, e.request(), p)
		wantErr(t, err, apierr.FormIdentifierNotFound, "identifier")
	}
}

// With enumeration protection an unknown identifier gets an attempt that
// answers like a real one: a stable identification id, a "sent" code
// that nobody receives and no code matches, and the same password error.
func TestUnknownIdentifierWithProtection(t *testing.T) {
	e := newEnv(t, protected)
	_, rq := e.adaClient()
	res := e.create(rq, CreateParams{Identifier: "nobody@example.com"})
	a := res.Attempt
	if !a.Fake || a.UserID != "" || res.User != nil || a.FakeID == "" {
		t.Fatalf("attempt = %+v", a)
	}
	again := e.create(e.request(), CreateParams{Identifier: "nobody@example.com"})
	if again.Attempt.FakeID != a.FakeID {
		t.Fatalf("fake id changed: %q then %q", a.FakeID, again.Attempt.FakeID)
	}
	if other := e.create(e.request(), CreateParams{Identifier: "someone@example.com"}); other.Attempt.FakeID == a.FakeID {
		t.Fatal("two unknown identifiers share a fake id")
	}

	res = e.prepare(rq, a.ID, PrepareParams{Strategy: StrategyEmailCode, EmailAddressID: a.FakeID})
	if v := res.Attempt.Verification; v.TargetID != a.FakeID || v.Target != "nobody@example.com" {
		t.Fatalf("verification = %+v", v)
	}
	if n := e.out.all(e.pool); len(n) != 0 {
		t.Fatalf("delivered %+v for an unknown identifier", n)
	}
	if ev := e.ev.one(t, "code_sent"); ev.fields["delivered"] != false {
		t.Fatalf("code_sent = %+v", ev)
	}
	_, err := e.attempt(rq, a.ID, AttemptParams{Strategy: StrategyEmailCode, Code: "123456"})
	wantErr(t, err, apierr.FormCodeIncorrect, "code")

	_, err = e.svc.Create(e.ctx, e.request(), CreateParams{Identifier: "nobody@example.com", Password: adaPass})
	wantErr(t, err, apierr.FormPasswordOrIdentifierIncorrect, "password")
	_, err = e.svc.Create(e.ctx, e.request(), CreateParams{Identifier: adaEmail, Password: "wrong password"})
	wantErr(t, err, apierr.FormPasswordOrIdentifierIncorrect, "password")
	// The phone channel is refused for an email identifier, known or not.
	_, err = e.svc.Prepare(e.ctx, rq, a.ID, PrepareParams{Strategy: StrategyPhoneCode})
	wantErr(t, err, apierr.StrategyForUserInvalid, "strategy")
}

func TestGetRefusesForeignAndAbandonedAttempts(t *testing.T) {
	e := newEnv(t)
	rq, a := e.adaStarted()
	for name, id := range map[string]string{"malformed": "nope", "unknown": "sia_0000000000000000000000000"} {
		if _, err := e.svc.Get(e.ctx, rq, id); err != ErrNotFound {
			t.Errorf("%s id: %v", name, err)
		}
	}
	if _, err := e.svc.Get(e.ctx, e.request(), a.ID); err != ErrNotFound {
		t.Fatalf("another client got the attempt: %v", err)
	}
	e.clock.Advance(e.cfg.AttemptLifetime)
	if _, err := e.svc.Get(e.ctx, rq, a.ID); err != ErrNotFound {
		t.Fatalf("abandoned attempt: %v", err)
	}
}

func TestPrepare(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	rq, a := e.started(adaEmail)

	_, err := e.svc.Prepare(e.ctx, rq, a.ID, PrepareParams{})
	wantErr(t, err, apierr.FormParamMissing, "strategy")
	_, err = e.svc.Prepare(e.ctx, rq, a.ID, PrepareParams{Strategy: "totp"})
	wantErr(t, err, apierr.FormParamValueInvalid, "strategy")
	res := e.prepare(rq, a.ID, PrepareParams{Strategy: StrategyPassword})
	if res.Attempt.Verification != nil || len(e.out.all(e.pool)) != 0 {
		t.Fatal("preparing the password strategy did something")
	}
	_, err = e.svc.Prepare(e.ctx, rq, a.ID, PrepareParams{Strategy: StrategyEmailCode, EmailAddressID: "idn_someone_else"})
	wantErr(t, err, apierr.FormParamValueInvalid, "email_address_id")
	_, err = e.svc.Prepare(e.ctx, rq, a.ID, PrepareParams{Strategy: StrategyPhoneCode, PhoneNumberID: u.Emails[0].ID})
	wantErr(t, err, apierr.FormParamValueInvalid, "phone_number_id")

	res = e.prepare(rq, a.ID, PrepareParams{Strategy: StrategyPhoneCode, PhoneNumberID: u.Phones[0].ID})
	first := e.out.lastCode(t, e.pool)
	if v := res.Attempt.Verification; v.Strategy != StrategyPhoneCode || v.TargetID != u.Phones[0].ID {
		t.Fatalf("verification = %+v", v)
	}
	stored := e.get(rq, a.ID)
	if stored.Attempt.Verification == nil || stored.Attempt.Verification.Strategy != StrategyPhoneCode {
		t.Fatal("prepare did not store the verification")
	}

	// Resend cooldown.
	_, err = e.svc.Prepare(e.ctx, rq, a.ID, PrepareParams{Strategy: StrategyPhoneCode})
	if got := wantErr(t, err, apierr.VerificationCodeTooManyRequests, ""); got.RetryAfter != e.cfg.ResendAfter {
		t.Fatalf("retry after %v", got.RetryAfter)
	}
	e.clock.Advance(e.cfg.ResendAfter)
	e.prepare(rq, a.ID, PrepareParams{Strategy: StrategyPhoneCode})
	second := e.out.lastCode(t, e.pool)
	if n := len(e.out.all(e.pool)); n != 2 {
		t.Fatalf("%d notices, want 2", n)
	}
	// A new code replaces the old one.
	if first != second {
		_, err = e.attempt(rq, a.ID, AttemptParams{Strategy: StrategyPhoneCode, Code: first})
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
	}
	res = e.attemptOK(rq, a.ID, AttemptParams{Strategy: StrategyPhoneCode, Code: second})
	if res.Attempt.Status != StatusComplete {
		t.Fatalf("status %s", res.Attempt.Status)
	}
	_, err = e.svc.Prepare(e.ctx, rq, a.ID, PrepareParams{Strategy: StrategyPhoneCode})
	wantErr(t, err, apierr.ClientStateInvalid, "")
}

func TestAttemptParameterErrors(t *testing.T) {
	e := newEnv(t)
	rq, a := e.adaStarted()
	for _, tc := range []struct {
		name  string
		p     AttemptParams
		want  *apierr.Error
		param string
	}{
		{"no strategy", AttemptParams{Code: "123456"}, apierr.FormParamMissing, "strategy"},
		{"unsupported strategy", AttemptParams{Strategy: "totp", Code: "123456"}, apierr.FormParamValueInvalid, "strategy"},
		{"password strategy without password", AttemptParams{Strategy: StrategyPassword}, apierr.FormParamMissing, "password"},
		{"no code sent", AttemptParams{Strategy: StrategyEmailCode, Code: "123456"}, apierr.VerificationNotSent, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.attempt(rq, a.ID, tc.p)
			wantErr(t, err, tc.want, tc.param)
		})
	}
	if _, err := e.attempt(e.request(), a.ID, AttemptParams{Strategy: StrategyPassword, Password: adaPass}); err != ErrNotFound {
		t.Fatalf("another client's attempt: %v", err)
	}

	e.prepare(rq, a.ID, PrepareParams{Strategy: StrategyEmailCode})
	_, err := e.attempt(rq, a.ID, AttemptParams{Strategy: StrategyPhoneCode, Code: "123456"})
	wantErr(t, err, apierr.VerificationStrategyInvalid, "")
	_, err = e.attempt(rq, a.ID, AttemptParams{Strategy: StrategyEmailCode})
	wantErr(t, err, apierr.FormParamMissing, "code")
}

func TestAttemptPassword(t *testing.T) {
	e := newEnv(t)
	rq, a := e.adaStarted()
	_, err := e.attempt(rq, a.ID, AttemptParams{Strategy: StrategyPassword, Password: "wrong password"})
	wantErr(t, err, apierr.FormPasswordIncorrect, "password")
	res := e.attemptOK(rq, a.ID, AttemptParams{Strategy: StrategyPassword, Password: adaPass})
	if res.Attempt.Status != StatusComplete || res.Session == nil {
		t.Fatalf("result = %+v", res)
	}
	stored := e.get(rq, a.ID)
	if stored.Attempt.Status != StatusComplete || stored.Session == nil || stored.Session.ID != res.Session.ID {
		t.Fatalf("stored = %+v", stored.Attempt)
	}
	_, err = e.attempt(rq, a.ID, AttemptParams{Strategy: StrategyPassword, Password: adaPass})
	wantErr(t, err, apierr.ClientStateInvalid, "")
}

func TestOverlongPasswordIsWrongWithoutHashing(t *testing.T) {
	e := newEnv(t)
	e.ada()
	long := make([]byte, maxPasswordLen+1)
	for i := range long {
		long[i] = 'a'
	}
	_, err := e.svc.Create(e.ctx, e.request(), CreateParams{Identifier: adaEmail, Password: string(long)})
	wantErr(t, err, apierr.FormPasswordIncorrect, "password")
	if n := len(e.ev.find("sign_in")); n != 0 {
		t.Fatalf("%d sign_in events for an overlong password", n)
	}
}

func TestWrongCodesThenVerificationFailed(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockoutAttempts = 100 })
	_, rq := e.adaClient()
	res, code := e.codeSent(rq, StrategyEmailCode, adaEmail)
	id := res.Attempt.ID
	for i := 1; i < e.cfg.CodeMaxAttempts; i++ {
		_, err := e.attempt(rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: wrongCode(code)})
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
		stored := e.get(rq, id)
		if got := stored.Attempt.Verification.Attempts; got != i {
			t.Fatalf("after %d wrong codes the attempt counts %d", i, got)
		}
	}
	_, err := e.attempt(rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: "not a code"})
	wantErr(t, err, apierr.VerificationFailed, "")
	if v := e.get(rq, id).Attempt.Verification; v.Status != VerFailed {
		t.Fatalf("verification = %+v", v)
	}
	// Even the right code is refused now, and no new code can be sent.
	_, err = e.attempt(rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: code})
	wantErr(t, err, apierr.VerificationFailed, "")
	e.clock.Advance(e.cfg.ResendAfter)
	_, err = e.svc.Prepare(e.ctx, rq, id, PrepareParams{Strategy: StrategyEmailCode})
	wantErr(t, err, apierr.VerificationFailed, "")
	if n := len(e.ev.find("code_attempt")); n != e.cfg.CodeMaxAttempts {
		t.Fatalf("%d code_attempt events, want %d", n, e.cfg.CodeMaxAttempts)
	}
}

func TestCodeExpires(t *testing.T) {
	e := newEnv(t)
	_, rq := e.adaClient()
	res, code := e.codeSent(rq, StrategyEmailCode, adaEmail)
	e.clock.Advance(e.cfg.CodeTTL)
	_, err := e.attempt(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: code})
	wantErr(t, err, apierr.VerificationExpired, "")
	if v := e.get(rq, res.Attempt.ID).Attempt.Verification; v.Status != VerExpired {
		t.Fatalf("verification = %+v", v)
	}
	// A fresh code works.
	e.prepare(rq, res.Attempt.ID, PrepareParams{Strategy: StrategyEmailCode})
	code = e.out.lastCode(t, e.pool)
	res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: code})
	if res.Attempt.Status != StatusComplete {
		t.Fatalf("status %s", res.Attempt.Status)
	}
}

func TestRightCodeCompletes(t *testing.T) {
	for _, strategy := range []string{StrategyEmailCode, StrategyPhoneCode} {
		t.Run(strategy, func(t *testing.T) {
			e := newEnv(t)
			u, rq := e.adaClient()
			res, code := e.codeSent(rq, strategy, adaEmail)
			id := res.Attempt.ID
			res = e.attemptOK(rq, id, AttemptParams{Strategy: strategy, Code: code})
			if res.Attempt.Status != StatusComplete || res.Session == nil || res.Session.UserID != u.ID {
				t.Fatalf("result = %+v", res)
			}
			if res.Attempt.Verification.Status != VerVerified || res.Session.Status != session.StatusActive {
				t.Fatalf("verification %+v, session %+v", res.Attempt.Verification, res.Session)
			}
			_, err := e.attempt(rq, id, AttemptParams{Strategy: strategy, Code: code})
			wantErr(t, err, apierr.ClientStateInvalid, "")
		})
	}
}

// A wrong code whose attempt a concurrent request completed with the
// right code is a replay, not a guess.
func TestWrongCodeAfterCompletionIsAReplay(t *testing.T) {
	e := newEnv(t)
	_, rq := e.adaClient()
	res, code := e.codeSent(rq, StrategyEmailCode, adaEmail)
	stale := e.get(rq, res.Attempt.ID)
	e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: code})
	err := e.svc.codeFailed(e.ctx, stale, lookup(StrategyEmailCode), 1, reservation{n: 1})
	wantErr(t, err, apierr.VerificationAlreadyVerified, "")
}

func TestStrategyTable(t *testing.T) {
	seen := map[string]bool{}
	for _, st := range strategies {
		key := st.keyPrefix() + st.name
		if seen[key] {
			t.Errorf("strategy %s listed twice in its step", key)
		}
		seen[key] = true
		if f := find(st.second, st.name); f == nil || f.factor != st.factor {
			t.Errorf("find(%v, %s) does not find it", st.second, st.name)
		}
		checkStrategyFields(t, st)
	}
	if lookup(StrategyTOTP) != nil || find(true, StrategyPassword) != nil || find(true, StrategyResetPasswordEmail) != nil {
		t.Error("a strategy is offered in the wrong step")
	}
	if a, b := find(false, StrategyPhoneCode), find(true, StrategyPhoneCode); a == nil || b == nil || a.codeKey("x") == b.codeKey("x") || a.macName() == b.macName() {
		t.Error("phone_code must be in both steps with separate code keys and MAC names")
	}
	if !Resets(StrategyResetPasswordPhone) || Resets(StrategyPhoneCode) || Resets("nope") {
		t.Error("Resets is wrong")
	}
	if CodeChannel(StrategyResetPasswordPhone) != users.KindPhone || CodeChannel(StrategyEmailCode) != users.KindEmail || CodeChannel(StrategyPassword) != "" {
		t.Error("CodeChannel is wrong")
	}
}

// checkStrategyFields checks that a strategy declares what its factor
// needs, and nothing else.
func checkStrategyFields(t *testing.T, st strategy) {
	t.Helper()
	switch st.factor {
	case factorPassword:
		if st.channel != nil || st.resets || st.message != "" || st.second {
			t.Errorf("password strategy %s declares code fields or a second step", st.name)
		}
	case factorCode:
		if st.channel == nil || !st.message.HasCode() {
			t.Errorf("code strategy %s lacks a channel or a code message", st.name)
		}
		if st.resets != (st.message == notify.KindResetCode) || (st.resets && st.second) {
			t.Errorf("strategy %s: resets %v with message %s (second %v)", st.name, st.resets, st.message, st.second)
		}
	case factorTOTP, factorBackupCode:
		if !st.second || st.channel != nil || st.resets || st.message != "" {
			t.Errorf("strategy %s checks a code nobody sends: it must be a second factor without a channel", st.name)
		}
	default:
		t.Errorf("strategy %s has no factor", st.name)
	}
}
