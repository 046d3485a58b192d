package signup

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/workcount"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/users"
)

func TestOffByDefault(t *testing.T) {
	e := newEnv(t)
	rq := e.client()
	_, err := e.svc.Create(e.ctx, rq, CreateParams{EmailAddress: newEmail, Password: goodPass})
	wantCode(t, err, "sign_up_disabled")
	_, err = e.svc.Get(e.ctx, rq, "sua_x")
	wantCode(t, err, "sign_up_disabled")
	_, err = e.svc.Update(e.ctx, rq, "sua_x", UpdateParams{})
	wantCode(t, err, "sign_up_disabled")
	_, err = e.svc.PrepareVerification(e.ctx, rq, "sua_x", PrepareParams{Strategy: StrategyEmailCode})
	wantCode(t, err, "sign_up_disabled")
	_, err = e.svc.AttemptVerification(e.ctx, rq, "sua_x", AttemptParams{Strategy: StrategyEmailCode, Code: "123456"})
	wantCode(t, err, "sign_up_disabled")
	if cur, err := e.svc.Current(e.ctx, rq); cur != nil || err != nil {
		t.Fatalf("Current = %v, %v", cur, err)
	}
	if cfg := e.svc.Config(); cfg.Enabled || cfg.Username != UsernameOff || !reflect.DeepEqual(cfg.Identifiers, []users.Kind{users.KindEmail}) {
		t.Fatalf("defaults = %+v", cfg)
	}
}

func TestEmailSignUpCreatesTheUserAndSignsIn(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true })
	rq := e.client()
	res, err := e.svc.Create(e.ctx, rq, CreateParams{EmailAddress: " New@Example.com ", Password: goodPass})
	if err != nil {
		t.Fatal(err)
	}
	a := res.Attempt
	if a.Status != StatusMissingRequirements || a.EmailAddress != newEmail || !a.HasPassword() ||
		a.Email == nil || a.Email.Status != signin.VerUnverified || a.Email.Strategy != StrategyEmailCode {
		t.Fatalf("created %+v", a)
	}
	if !reflect.DeepEqual(res.Fields.Unverified, []string{"email_address"}) || len(res.Fields.Missing) != 0 ||
		!reflect.DeepEqual(res.Fields.Required, []string{"email_address", "password"}) {
		t.Fatalf("fields %+v", res.Fields)
	}
	if cur, err := e.svc.Current(e.ctx, rq); err != nil || cur == nil || cur.Attempt.ID != a.ID {
		t.Fatalf("Current = %v, %v", cur, err)
	}
	if _, err := e.svc.AttemptVerification(e.ctx, rq, a.ID, AttemptParams{Strategy: StrategyEmailCode, Code: "123456"}); err == nil {
		t.Fatal("a code before any was sent verified")
	}
	if _, err := e.svc.PrepareVerification(e.ctx, rq, a.ID, PrepareParams{Strategy: StrategyEmailCode}); err != nil {
		t.Fatal(err)
	}
	n := e.out.Last(t, e.pool)
	if n.Kind != notify.KindSignUpCode || n.To != newEmail || n.Channel != notify.ChannelEmail || n.ExpiresIn != 10*time.Minute {
		t.Fatalf("sent %+v", n)
	}
	_, err = e.svc.AttemptVerification(e.ctx, rq, a.ID, AttemptParams{Strategy: StrategyEmailCode, Code: wrong(n.Code)})
	wantCode(t, err, "form_code_incorrect")
	res, err = e.svc.AttemptVerification(e.ctx, rq, a.ID, AttemptParams{Strategy: StrategyEmailCode, Code: n.Code})
	if err != nil {
		t.Fatal(err)
	}
	a = res.Attempt
	if a.Status != StatusComplete || res.User == nil || res.Session == nil || a.CreatedUserID != res.User.ID ||
		a.CreatedSessionID != res.Session.ID || a.Email.Status != signin.VerVerified || len(res.Fields.Unverified) != 0 {
		t.Fatalf("completed %+v", res)
	}
	u, err := e.Users.Find(e.ctx, users.KindEmail, newEmail)
	if err != nil || u.ID != res.User.ID {
		t.Fatalf("the user is not findable: %v %v", u, err)
	}
	if ok, _, err := e.Passwords.Verify(e.ctx, goodPass, u.PasswordDigest); !ok || err != nil {
		t.Fatalf("the password does not verify: %v", err)
	}
	if res.Session.UserID != u.ID || res.Session.Status != session.StatusActive {
		t.Fatalf("session %+v", res.Session)
	}
	if c, err := e.Sessions.Client(e.ctx, rq.Client.RotatedToken()); err != nil || c.LastActiveSessionID != res.Session.ID {
		t.Fatalf("the client is not signed in: %+v %v", c, err)
	}
	if cur, err := e.svc.Current(e.ctx, rq); cur != nil || err != nil {
		t.Fatalf("a complete sign-up is still current: %v %v", cur, err)
	}
	// The code is used up: a replay neither verifies nor makes a user.
	_, err = e.svc.AttemptVerification(e.ctx, rq, a.ID, AttemptParams{Strategy: StrategyEmailCode, Code: n.Code})
	wantCode(t, err, "verification_already_verified")
}

// wrong is a well-formed code other than c.
func wrong(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}

// view is what a caller sees of a result, less what differs by nature
// (ids, times): known and new addresses must see the same.
func view(t *testing.T, res *Result) string {
	t.Helper()
	a := *res.Attempt
	a.ID, a.ClientID, a.PasswordDigest = "", "", "x"
	a.CreatedAt, a.UpdatedAt, a.AbandonAt = time.Time{}, time.Time{}, time.Time{}
	a.EmailAddress = "addr"
	if a.Email != nil {
		v := *a.Email
		v.ExpireAt = time.Time{}
		a.Email = &v
	}
	b, err := json.Marshal(struct {
		A Attempt
		F Fields
		U bool
	}{a, res.Fields, res.User != nil})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestKnownAddressLooksTheSameAndGetsANotice(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true })
	owner := e.user(users.NewUser{Emails: []string{"owner@example.com"}, Password: goodPass})
	rqNew, rqOld := e.client(), e.client()
	fresh := e.start(rqNew, newEmail)
	known := e.start(rqOld, "owner@example.com")
	if a, b := view(t, fresh), view(t, known); a != b {
		t.Fatalf("a known address is told apart:\nnew   %s\nknown %s", a, b)
	}
	all := e.out.All(e.pool)
	if len(all) != 2 {
		t.Fatalf("%d notices, want 2", len(all))
	}
	n := all[1]
	if n.Kind != notify.KindSignUpExisting || n.To != "owner@example.com" || n.Code != "" {
		t.Fatalf("the owner got %+v, want the notice without a code", n)
	}
	// No code verifies it: every try is wrong, then the verification fails.
	for i := range 5 {
		_, err := e.svc.AttemptVerification(e.ctx, rqOld, known.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: all[0].Code})
		if i < 4 {
			wantCode(t, err, "form_code_incorrect")
		} else {
			wantCode(t, err, "verification_failed")
		}
	}
	if u, err := e.Users.Find(e.ctx, users.KindEmail, "owner@example.com"); err != nil || u.ID != owner.ID {
		t.Fatalf("the owner's account changed: %v %v", u, err)
	}
}

// TestKnownAddressCostsTheSameWork: sending the code to a new address
// and the notice to a known one make the same store operations, one for
// one, and the same number of deliveries (in the background): the work
// does not tell them apart either.
func TestKnownAddressCostsTheSameWork(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true })
	w := &workcount.Work{}
	svc := e.instanceOn(&workcount.Store{Store: e.Store, W: w})
	e.user(users.NewUser{Emails: []string{"owner@example.com"}, Password: goodPass})
	work := func(addr string) map[string]int {
		rq := e.client()
		res := e.startOn(svc, rq, addr)
		e.pool.Wait()
		w.Take()
		if _, err := svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyEmailCode}); err == nil {
			t.Fatal("a resend within 30 s went through")
		}
		e.Clock.Advance(31 * time.Second)
		w.Take()
		if _, err := svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyEmailCode}); err != nil {
			t.Fatal(err)
		}
		e.pool.Wait()
		return w.Take()
	}
	fresh, known := work("fresh@example.com"), work("owner@example.com")
	if !maps.Equal(fresh, known) || workcount.Calls(fresh, "Get") == 0 {
		t.Fatalf("store work differs: new %v, known %v", fresh, known)
	}
	if n := len(e.out.All(e.pool)); n != 4 {
		t.Fatalf("%d deliveries, want 4 (two codes, two notices)", n)
	}
}

func TestPasswordRules(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true })
	e.Breach.Set("breached password 1", nil)
	for pw, code := range map[string]string{
		"breached password 1": "form_password_pwned",
		"short":               "form_password_length_too_short",
		newEmail:              "form_password_matches_identifier",
	} {
		_, err := e.svc.Create(e.ctx, e.client(), CreateParams{EmailAddress: newEmail, Password: pw})
		wantCode(t, err, code)
	}
	// Without a password the attempt is missing one and cannot finish.
	res, err := e.svc.Create(e.ctx, e.client(), CreateParams{EmailAddress: newEmail})
	if err != nil || !slices.Contains(res.Fields.Missing, "password") {
		t.Fatalf("no password: %+v %v", res, err)
	}
}

func TestCodeRules(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true })
	rq := e.client()
	res := e.start(rq, newEmail)
	id := res.Attempt.ID
	first := e.out.lastCode(t, e.pool)
	// Resend only after 30 s; the new code replaces the old.
	_, err := e.svc.PrepareVerification(e.ctx, rq, id, PrepareParams{Strategy: StrategyEmailCode})
	wantCode(t, err, "verification_code_too_many_requests")
	e.Clock.Advance(30 * time.Second)
	if _, err := e.svc.PrepareVerification(e.ctx, rq, id, PrepareParams{Strategy: StrategyEmailCode}); err != nil {
		t.Fatal(err)
	}
	second := e.out.lastCode(t, e.pool)
	if first != second {
		_, err = e.svc.AttemptVerification(e.ctx, rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: first})
		wantCode(t, err, "form_code_incorrect")
	}
	// Ten minutes later the code has expired.
	e.Clock.Advance(10 * time.Minute)
	_, err = e.svc.AttemptVerification(e.ctx, rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: second})
	wantCode(t, err, "verification_expired")
	got, err := e.svc.Get(e.ctx, rq, id)
	if err != nil || got.Attempt.Email.Status != signin.VerExpired {
		t.Fatalf("after expiry %+v %v", got, err)
	}
	// Five tries in all per verification, a new code included.
	if _, err := e.svc.PrepareVerification(e.ctx, rq, id, PrepareParams{Strategy: StrategyEmailCode}); err != nil {
		t.Fatal(err)
	}
	third := e.out.lastCode(t, e.pool)
	var last error
	for range 4 {
		_, last = e.svc.AttemptVerification(e.ctx, rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: wrong(third)})
	}
	wantCode(t, last, "verification_failed")
	_, err = e.svc.AttemptVerification(e.ctx, rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: third})
	wantCode(t, err, "verification_failed")
	e.Clock.Advance(time.Minute)
	_, err = e.svc.PrepareVerification(e.ctx, rq, id, PrepareParams{Strategy: StrategyEmailCode})
	wantCode(t, err, "verification_failed")
}

func TestOneFailureBudgetPerAddress(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true; c.Limits.FailuresPerIdentifier = 3 })
	rqA := e.client()
	a := e.start(rqA, newEmail)
	code := e.out.lastCode(t, e.pool)
	for range 3 {
		_, err := e.svc.AttemptVerification(e.ctx, rqA, a.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: wrong(code)})
		wantCode(t, err, "form_code_incorrect")
	}
	// A new attempt for the same address buys no fresh guesses: even its
	// right code is refused until the window ends.
	rqB := e.client()
	b := e.start(rqB, newEmail)
	codeB := e.out.lastCode(t, e.pool)
	_, err := e.svc.AttemptVerification(e.ctx, rqB, b.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: codeB})
	wantCode(t, err, "verification_failed")
	e.Clock.Advance(24 * time.Hour)
	e.Clock.Advance(time.Second)
	rqC := e.client()
	c := e.start(rqC, newEmail)
	codeC := e.out.lastCode(t, e.pool)
	if res, err := e.svc.AttemptVerification(e.ctx, rqC, c.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: codeC}); err != nil || res.Attempt.Status != StatusComplete {
		t.Fatalf("after the window: %+v %v", res, err)
	}
}

// A code that could not be delivered is deleted: nobody has it, so
// nobody may guess it.
func TestUndeliveredCodeIsUnusable(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true })
	e.out.FailWith(errors.New("smtp down"))
	rq := e.client()
	res := e.start(rq, newEmail)
	e.pool.Wait()
	if _, err := e.Store.Get(e.ctx, codeKey(res.Attempt.ID, users.KindEmail)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the undelivered code is still stored: %v", err)
	}
}
