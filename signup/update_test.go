package signup

import (
	"slices"
	"testing"

	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/users"
)

func TestPatchBeforeVerification(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true; c.Username = UsernameRequired })
	e.user(users.NewUser{Emails: []string{"taken@example.com"}, Username: "taken", Password: goodPass})
	rq := e.client()
	res, err := e.svc.Create(e.ctx, rq, CreateParams{EmailAddress: "first@example.com", Password: goodPass})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Attempt.ID
	if !slices.Contains(res.Fields.Missing, "username") || !slices.Contains(res.Fields.Required, "username") {
		t.Fatalf("fields %+v", res.Fields)
	}
	if _, err := e.svc.PrepareVerification(e.ctx, rq, id, PrepareParams{Strategy: StrategyEmailCode}); err != nil {
		t.Fatal(err)
	}
	old := e.out.lastCode(t, e.pool)
	// A taken username is told at once (usernames are public names).
	taken := "Taken"
	_, err = e.svc.Update(e.ctx, rq, id, UpdateParams{Username: &taken})
	wantCode(t, err, "form_identifier_exists")
	name, email, pw := "ada.l", "second@example.com", "another fine passphrase"
	// A new address without a new password drops the password: its hash
	// cannot be compared with the new address.
	res, err = e.svc.Update(e.ctx, rq, id, UpdateParams{Username: &name, EmailAddress: &email})
	if err != nil {
		t.Fatal(err)
	}
	if a := res.Attempt; a.Username != "ada.l" || a.EmailAddress != email || a.Email.Prepared || a.HasPassword() ||
		!slices.Equal(res.Fields.Missing, []string{"password"}) {
		t.Fatalf("after PATCH %+v %+v", a, res.Fields)
	}
	second := "second"
	_, err = e.svc.Update(e.ctx, rq, id, UpdateParams{Password: &second})
	wantCode(t, err, "form_password_length_too_short")
	res, err = e.svc.Update(e.ctx, rq, id, UpdateParams{Password: &pw})
	if err != nil || !res.Attempt.HasPassword() || len(res.Fields.Missing) != 0 {
		t.Fatalf("after the password: %+v %v", res, err)
	}
	// The old address's code is bound to it: it verifies nothing now.
	_, err = e.svc.AttemptVerification(e.ctx, rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: old})
	wantCode(t, err, "verification_not_sent")
	e.Clock.Advance(31e9)
	if _, err := e.svc.PrepareVerification(e.ctx, rq, id, PrepareParams{Strategy: StrategyEmailCode}); err != nil {
		t.Fatal(err)
	}
	n := e.out.Last(t, e.pool)
	if n.To != email {
		t.Fatalf("code went to %s", n.To)
	}
	res, err = e.svc.AttemptVerification(e.ctx, rq, id, AttemptParams{Strategy: StrategyEmailCode, Code: n.Code})
	if err != nil || res.User == nil || res.User.Username != "ada.l" || res.User.PrimaryEmail() != email {
		t.Fatalf("completed %+v %v", res, err)
	}
	// Complete: no more changes.
	_, err = e.svc.Update(e.ctx, rq, id, UpdateParams{Username: &name})
	wantCode(t, err, "client_state_invalid")
	// Another client cannot see the attempt.
	_, err = e.svc.Get(e.ctx, e.client(), id)
	wantCode(t, err, "resource_not_found")
}

// The code first, then the missing username by PATCH: the PATCH keeps the
// verification and completes the sign-up.
func TestPatchTheLastFieldCompletes(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Enabled = true; c.Username = UsernameRequired })
	rq := e.client()
	res := e.start(rq, newEmail)
	code := e.out.lastCode(t, e.pool)
	got, err := e.svc.AttemptVerification(e.ctx, rq, res.Attempt.ID, AttemptParams{Strategy: StrategyEmailCode, Code: code})
	if err != nil || got.Attempt.Status != StatusMissingRequirements || got.Attempt.Email.Status != signin.VerVerified ||
		!slices.Equal(got.Fields.Missing, []string{"username"}) || got.Session != nil {
		t.Fatalf("verified, username missing: %+v %v", got, err)
	}
	name := "ada"
	got, err = e.svc.Update(e.ctx, rq, res.Attempt.ID, UpdateParams{Username: &name})
	if err != nil || got.Attempt.Status != StatusComplete || got.Session == nil || got.User.Username != "ada" || got.User.PrimaryEmail() != newEmail {
		t.Fatalf("after PATCH: %+v %v", got, err)
	}
}

// TestNoIdentifierNeverCompletes: with phone as the only identifier and no
// phone_countries (so no kind can be given), a username and a password
// are not an account: the sign-up stays missing its phone, and a PATCH
// cannot finish it.
func TestNoIdentifierNeverCompletes(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Enabled = true
		c.Identifiers = []users.Kind{users.KindPhone}
		c.PhoneCountries = nil
		c.Username = UsernameOptional
	})
	rq := e.client()
	res, err := e.svc.Create(e.ctx, rq, CreateParams{Username: "nobody.here", Password: goodPass})
	if err != nil {
		t.Fatal(err)
	}
	name := "nobody.there"
	res, err = e.svc.Update(e.ctx, rq, res.Attempt.ID, UpdateParams{Username: &name})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempt.Status == StatusComplete || res.Attempt.CreatedUserID != "" ||
		!slices.Equal(res.Fields.Missing, []string{"phone_number"}) {
		t.Fatalf("a sign-up without an email or phone: %+v %+v", res.Attempt, res.Fields)
	}
}

// TestPatchIsLimitedPerIP: a PATCH may hash a password and check it
// against the breach source, so it has the create limit per IP.
func TestPatchIsLimitedPerIP(t *testing.T) {
	e := newEnv(t, on, func(c *Config) { c.Limits.CreatesPerIP = 0 }) // the default
	rq := e.client()
	res, err := e.svc.Create(e.ctx, rq, CreateParams{EmailAddress: "patcher@example.com", Password: goodPass})
	if err != nil {
		t.Fatal(err)
	}
	pw := "yet another fine passphrase"
	for i := 0; i < 10 && err == nil; i++ {
		_, err = e.svc.Update(e.ctx, rq, res.Attempt.ID, UpdateParams{Password: &pw})
	}
	wantCode(t, err, "too_many_requests")
}
