package signin

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
)

// codesLockedFor checks the code budget's refusal: 429 too_many_requests
// with Retry-After want.
func codesLockedFor(t *testing.T, err error, want time.Duration) {
	t.Helper()
	got := wantErr(t, err, apierr.TooManyRequests, "")
	if got.Status != 429 || got.RetryAfter != want {
		t.Fatalf("status %d, Retry-After %v; want 429, %v", got.Status, got.RetryAfter, want)
	}
}

// The scenario: 25 wrong codes over 5 attempts, both channels and
// every code strategy, get no more than LockoutAttempts codes compared.
// New codes do not reset the budget; the lock holds against the right
// code too; once it ends one try is allowed and a wrong one doubles it;
// only a right code clears it.
func TestCodeBudgetAcrossAttemptsAndChannels(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockoutAttempts = 10 })
	e.ada()
	type started struct {
		rq       Request
		id, code string
		strategy string
	}
	var attempts []started
	for _, tc := range []struct{ strategy, identifier string }{
		{StrategyResetPasswordEmail, adaEmail}, {StrategyResetPasswordPhone, adaPhone},
		{StrategyEmailCode, adaEmail}, {StrategyPhoneCode, adaPhone}, {StrategyResetPasswordEmail, adaEmail},
	} {
		rq := e.request()
		res, code := e.codeSent(rq, tc.strategy, tc.identifier)
		attempts = append(attempts, started{rq, res.Attempt.ID, code, tc.strategy})
	}
	wrong := 0
	for i, a := range attempts {
		for try := 1; try <= e.cfg.CodeMaxAttempts; try++ {
			_, err := e.attempt(a.rq, a.id, AttemptParams{Strategy: a.strategy, Code: wrongCode(a.code)})
			wrong++
			switch {
			case wrong == e.cfg.LockoutAttempts:
				codesLockedFor(t, err, e.cfg.CodeLockoutBase)
			case wrong > e.cfg.LockoutAttempts:
				// Refused before the attempt counts the try.
				codesLockedFor(t, err, e.cfg.CodeLockoutBase)
				if n := e.get(a.rq, a.id).Attempt.Verification.Attempts; i >= 2 && n != 0 {
					t.Fatalf("attempt %d counted %d tries while the budget was locked", i, n)
				}
			case try == e.cfg.CodeMaxAttempts:
				wantErr(t, err, apierr.VerificationFailed, "")
			default:
				wantErr(t, err, apierr.FormCodeIncorrect, "code")
			}
		}
	}
	if n := len(e.ev.find("code_attempt")); n != e.cfg.LockoutAttempts {
		t.Fatalf("%d codes compared, want %d", n, e.cfg.LockoutAttempts)
	}
	third, fifth := attempts[2], attempts[4]
	_, err := e.attempt(third.rq, third.id, AttemptParams{Strategy: third.strategy, Code: third.code})
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
	// A new code does not reset the budget.
	e.clock.Advance(e.cfg.ResendAfter)
	e.prepare(fifth.rq, fifth.id, PrepareParams{Strategy: fifth.strategy})
	fifth.code = e.out.lastCode(t, e.pool)
	_, err = e.attempt(fifth.rq, fifth.id, AttemptParams{Strategy: fifth.strategy, Code: fifth.code})
	codesLockedFor(t, err, e.cfg.CodeLockoutBase-e.cfg.ResendAfter)

	e.clock.Advance(e.cfg.CodeLockoutBase - e.cfg.ResendAfter)
	_, err = e.attempt(third.rq, third.id, AttemptParams{Strategy: third.strategy, Code: wrongCode(third.code)})
	codesLockedFor(t, err, 2*e.cfg.CodeLockoutBase)
	e.clock.Advance(2 * e.cfg.CodeLockoutBase)
	res := e.attemptOK(third.rq, third.id, AttemptParams{Strategy: third.strategy, Code: third.code})
	if res.Attempt.Status != StatusComplete {
		t.Fatalf("after the lock: %s", res.Attempt.Status)
	}
	// The right code cleared the budget: a wrong one is just wrong again.
	_, err = e.attempt(fifth.rq, fifth.id, AttemptParams{Strategy: fifth.strategy, Code: wrongCode(fifth.code)})
	wantErr(t, err, apierr.FormCodeIncorrect, "code")
}

// The budget is in the store: another instance sees the same count and
// lock.
func TestCodeBudgetIsSharedByInstances(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.CodeMaxAttempts = 10 })
	e.ada()
	other := e.instance(nil)
	rq := e.request()
	res, code := e.codeSent(rq, StrategyResetPasswordEmail, adaEmail)
	id := res.Attempt.ID
	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		svc := e.svc
		if i%2 == 0 {
			svc = other
		}
		_, err := svc.AttemptFirstFactor(e.ctx, rq, id, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: wrongCode(code)})
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
	}
	_, err := other.AttemptFirstFactor(e.ctx, rq, id, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: wrongCode(code)})
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
	_, err = e.attempt(rq, id, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: code})
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
}

// The lock doubles with each wrong code past the limit, up to the cap,
// and stays there.
func TestCodeBudgetBackoff(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockoutAttempts = 10 })
	b, who := e.svc.budget, userSubject("user_backoff")
	for i := 1; i < e.cfg.LockoutAttempts; i++ {
		r, err := b.reserve(e.ctx, who)
		if err != nil || b.failed(e.ctx, who, r) != nil {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute,
		32 * time.Minute, 64 * time.Minute, 128 * time.Minute, 256 * time.Minute, 512 * time.Minute,
		1024 * time.Minute, 24 * time.Hour, 24 * time.Hour}
	for i, lock := range want {
		r, err := b.reserve(e.ctx, who)
		if err != nil {
			t.Fatalf("wrong code %d: %v", e.cfg.LockoutAttempts+i, err)
		}
		codesLockedFor(t, b.failed(e.ctx, who, r), lock)
		_, err = b.reserve(e.ctx, who)
		codesLockedFor(t, err, lock) // one try per lock, not two
		e.clock.Advance(lock)
	}
	if got := e.ev.find("codes_locked"); len(got) != len(want) || got[0].fields["user_id"] != "user_backoff" {
		t.Fatalf("codes_locked events = %+v", got)
	}
}

// However many guesses race, no more than the budget are compared.
func TestCodeBudgetReservesBeforeComparing(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockoutAttempts = 10 })
	who := userSubject("user_racing")
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted, refused := 0, 0
	for range 5 * e.cfg.LockoutAttempts {
		wg.Go(func() {
			_, err := e.svc.budget.reserve(e.ctx, who)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				granted++
			case errors.Is(err, apierr.TooManyRequests):
				refused++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if granted != e.cfg.LockoutAttempts || refused != 4*e.cfg.LockoutAttempts {
		t.Fatalf("%d tries granted, %d refused; want %d and %d", granted, refused, e.cfg.LockoutAttempts, 4*e.cfg.LockoutAttempts)
	}
}

// A budget record that does not parse fails closed: code verification is
// locked as at the limit, and the fault is logged.
func TestMalformedBudgetRecordFailsClosed(t *testing.T) {
	e := newEnv(t)
	u := e.ada()
	if err := e.st.Put(e.ctx, budgetKey(userSubject(u.ID)), []byte("{nope"), time.Hour); err != nil {
		t.Fatal(err)
	}
	rq := e.request()
	res, code := e.codeSent(rq, StrategyResetPasswordEmail, adaEmail)
	_, err := e.attempt(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: code})
	codesLockedFor(t, err, e.cfg.CodeLockoutBase)
	if n := e.logs.FilterMessageSnippet("malformed code budget record").FilterField(zapString("user_id", u.ID)).Len(); n != 1 {
		t.Fatalf("%d log lines about the malformed record, want 1", n)
	}
	e.clock.Advance(e.cfg.CodeLockoutBase)
	res = e.attemptOK(rq, res.Attempt.ID, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: code})
	if res.Attempt.Status != StatusNeedsNewPassword {
		t.Fatalf("after the lock: %s", res.Attempt.Status)
	}
}

// Under enumeration protection an unknown identifier has a code budget of
// its own (keyed by the HMAC of the identifier) and gets exactly the
// answers a known one gets.
func TestUnknownIdentifierHasTheSameCodeBudget(t *testing.T) {
	e := newEnv(t, protected, func(c *Config) { c.LockoutAttempts = 10 })
	e.ada()
	seq := func(identifier string) []apierr.Error {
		var got []apierr.Error
		for range 3 {
			rq := e.request()
			a := e.create(rq, CreateParams{Strategy: StrategyResetPasswordEmail, Identifier: identifier}).Attempt
			for range e.cfg.CodeMaxAttempts {
				_, err := e.attempt(rq, a.ID, AttemptParams{Strategy: StrategyResetPasswordEmail, Code: "123456"})
				got = append(got, *apierr.From(err))
			}
		}
		return got
	}
	known, unknown := seq(adaEmail), seq("nobody@example.com")
	sameErrors(t, known, unknown)
	if last := known[len(known)-1]; last.Code != apierr.TooManyRequests.Code {
		t.Fatalf("the budget never locked: %+v", known)
	}
}

// sameErrors checks two sequences of API errors answer alike: status,
// code, messages, meta and Retry-After.
func sameErrors(t *testing.T, known, unknown []apierr.Error) {
	t.Helper()
	if len(known) != len(unknown) {
		t.Fatalf("%d answers for the known identifier, %d for the unknown", len(known), len(unknown))
	}
	for i := range known {
		k, u := known[i], unknown[i]
		if k.Status != u.Status || k.Code != u.Code || k.Message != u.Message || k.LongMessage != u.LongMessage ||
			k.RetryAfter != u.RetryAfter || len(k.Meta) != len(u.Meta) {
			t.Fatalf("answer %d: known %+v, unknown %+v", i+1, k, u)
		}
		for mk, mv := range k.Meta {
			if u.Meta[mk] != mv {
				t.Fatalf("answer %d: meta %s known %v, unknown %v", i+1, mk, mv, u.Meta[mk])
			}
		}
	}
}

// The README's numbers: an attacker who guesses whenever the budget lets
// them, and never lets it be forgotten, gets 20 codes compared in the
// first day and 384 in a year with the defaults (10 wrong codes, then
// locks of 1 min doubling to 24 h).
func TestCodeBudgetGuessesPerDayAndYear(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockoutAttempts = 10 })
	b, who := e.svc.budget, userSubject("user_attacked")
	start := e.clock.Now()
	var day, year int
	for e.clock.Now().Sub(start) < 365*24*time.Hour {
		r, err := b.reserve(e.ctx, who)
		if err != nil {
			t.Fatalf("refused at %v: %v", e.clock.Now().Sub(start), err)
		}
		if year++; year > 1000 {
			t.Fatal("more than 1000 guesses in a year")
		}
		if e.clock.Now().Sub(start) < 24*time.Hour {
			day++
		}
		var locked *apierr.Error
		if errors.As(b.failed(e.ctx, who, r), &locked) {
			e.clock.Advance(locked.RetryAfter)
		}
	}
	if day != 20 || year != 384 {
		t.Fatalf("%d guesses in the first day, %d in a year; the README says 20 and 384", day, year)
	}
}
