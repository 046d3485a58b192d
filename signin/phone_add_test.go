package signin

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/mfa"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/users"
)

const newNumber = "+12015550101"

// phoneEnv is a deployment where SMS codes are the only second factor
// and one is required, with the US open to SMS, and a user (email and
// password, no phone) signed in, pending setup-mfa.
func phoneEnv(t *testing.T) (*env, *Service, *users.User, *session.Session) {
	e := newEnv(t, func(c *Config) {
		// The account budget above code_max_attempts, to reach the latter.
		c.PhoneCountries, c.LockoutAttempts = []string{"US"}, 10
		c.CodeTTL = 5 * time.Minute // ends within the reverification window
	})
	required := mfaOn
	required.TOTP, required.Required = false, true
	svc := e.instance(func(d *Deps) { d.SecondFactors = e.secondFactors(required) })
	u := e.user(users.NewUser{Emails: []string{adaEmail}, Password: adaPass})
	sess := e.sessionOf(svc, adaEmail)
	if sess.Status != session.StatusPending {
		t.Fatalf("session %+v, want pending setup-mfa", sess)
	}
	return e, svc, u, sess
}

// codeSent adds newNumber to u and texts it its code.
func codeSent(t *testing.T, e *env, svc *Service, u *users.User, sess *session.Session) (*NewPhone, string) {
	t.Helper()
	np, err := svc.CreatePhone(e.ctx, u, sess, newNumber)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PreparePhone(e.ctx, e.request(), u, sess, np.ID, StrategyPhoneCode); err != nil {
		t.Fatal(err)
	}
	return np, e.out.lastCode(t, e.pool)
}

// The whole path: add, text, a wrong code, the right one, reserve; the
// number is no identifier until its code is right, keeps its id, and
// reserving it completes the setup-mfa task.
func TestAddPhoneCompletesSetup(t *testing.T) {
	e, svc, u, sess := phoneEnv(t)
	np, err := svc.CreatePhone(e.ctx, u, sess, "+1 (201) 555-0101")
	if err != nil {
		t.Fatal(err)
	}
	if np.Value != newNumber || np.Verified() || np.Verification.Status != "unverified" {
		t.Fatalf("new phone %+v", np)
	}
	if _, err := e.users.Find(e.ctx, users.KindPhone, newNumber); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("an unverified phone is found as an identifier: %v", err)
	}
	_, err = svc.AttemptPhone(e.ctx, u, sess, np.ID, "123456")
	wantErr(t, err, apierr.VerificationNotSent, "")
	rq := e.request()
	if _, err := svc.PreparePhone(e.ctx, rq, u, sess, np.ID, StrategyPhoneCode); err != nil {
		t.Fatal(err)
	}
	n := e.out.last(t, e.pool)
	if n.To != newNumber {
		t.Fatalf("code sent to %q", n.To)
	}
	code := e.out.lastCode(t, e.pool)
	_, err = svc.PreparePhone(e.ctx, rq, u, sess, np.ID, StrategyPhoneCode)
	wantErr(t, err, apierr.VerificationCodeTooManyRequests, "")
	_, err = svc.AttemptPhone(e.ctx, u, sess, np.ID, wrongCode(code))
	wantErr(t, err, apierr.FormCodeIncorrect, "code")
	if list, _ := svc.NewPhones(e.ctx, u.ID); len(list) != 1 || list[0].Verification.Attempts != 1 {
		t.Fatalf("after a wrong code: %+v", list)
	}
	nu, err := svc.AttemptPhone(e.ctx, u, sess, np.ID, code)
	if err != nil {
		t.Fatal(err)
	}
	if len(nu.Phones) != 1 || nu.Phones[0].ID != np.ID || nu.Phones[0].Value != newNumber {
		t.Fatalf("user phones %+v, want %s as %s", nu.Phones, newNumber, np.ID)
	}
	if found, err := e.users.Find(e.ctx, users.KindPhone, newNumber); err != nil || found.ID != u.ID {
		t.Fatalf("verified phone not found: %v", err)
	}
	if list, _ := svc.NewPhones(e.ctx, u.ID); len(list) != 0 {
		t.Fatalf("still unverified: %+v", list)
	}
	_, err = svc.AttemptPhone(e.ctx, nu, sess, np.ID, code)
	wantErr(t, err, apierr.ResourceNotFound, "")
	added, err := svc.ReservePhone(e.ctx, nu, sess, np.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if added.Session.Status != session.StatusActive || len(added.BackupCodes) != mfa.BackupCodeCount {
		t.Fatalf("reserving: %+v", added)
	}
}

// Numbers SMS may not go to are refused when given; so is one the user
// has, and more than UnverifiedPhones waiting at once.
func TestAddPhoneRefusals(t *testing.T) {
	e, svc, u, sess := phoneEnv(t)
	for raw, msg := range map[string]string{
		"+33612345678": "Phone numbers from this country (FR) are currently not supported.",
		"+18005550100": "This phone number cannot receive verification codes: use a mobile number.",
	} {
		_, err := svc.CreatePhone(e.ctx, u, sess, raw)
		if got := wantErr(t, err, apierr.FormParamFormatInvalid, "phone_number"); got.LongMessage != msg {
			t.Errorf("%s: %q, want %q", raw, got.LongMessage, msg)
		}
	}
	_, err := svc.CreatePhone(e.ctx, u, sess, "12015550101")
	wantErr(t, err, apierr.FormParamFormatInvalid, "phone_number")
	for i := range e.cfg.UnverifiedPhones {
		if _, err := svc.CreatePhone(e.ctx, u, sess, "+1201555011"+string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
	}
	_, err = svc.CreatePhone(e.ctx, u, sess, "+12015550119")
	wantErr(t, err, apierr.FormParamValueInvalid, "phone_number")
	// Waiting already: the same number again is answered as it is.
	again, err := svc.CreatePhone(e.ctx, u, sess, "+12015550110")
	if err != nil || again.Value != "+12015550110" {
		t.Fatalf("again: %+v, %v", again, err)
	}
	bob := e.user(users.NewUser{Emails: []string{"bob@example.com"}, Phones: []string{"+12015550120"}, Password: adaPass})
	_, err = svc.CreatePhone(e.ctx, bob, e.sessionOf(svc, "bob@example.com"), "+12015550120")
	wantErr(t, err, apierr.FormIdentifierExists, "phone_number")
}

// A number another account verified first: the right code gives
// form_identifier_exists, and the waiting number is dropped.
func TestAddPhoneTakenMeanwhile(t *testing.T) {
	e, svc, u, sess := phoneEnv(t)
	np, code := codeSent(t, e, svc, u, sess)
	e.user(users.NewUser{Emails: []string{"bob@example.com"}, Phones: []string{newNumber}})
	_, err := svc.AttemptPhone(e.ctx, u, sess, np.ID, code)
	wantErr(t, err, apierr.FormIdentifierExists, "phone_number")
	if list, _ := svc.NewPhones(e.ctx, u.ID); len(list) != 0 {
		t.Fatalf("a taken number still waits: %+v", list)
	}
}

// code_max_attempts wrong codes end the verification, even with the
// right code next; an expired code is refused as expired.
func TestAddPhoneTriesAndExpiry(t *testing.T) {
	e, svc, u, sess := phoneEnv(t)
	np, code := codeSent(t, e, svc, u, sess)
	for i := 1; i < e.cfg.CodeMaxAttempts; i++ {
		_, err := svc.AttemptPhone(e.ctx, u, sess, np.ID, wrongCode(code))
		wantErr(t, err, apierr.FormCodeIncorrect, "code")
	}
	_, err := svc.AttemptPhone(e.ctx, u, sess, np.ID, wrongCode(code))
	wantErr(t, err, apierr.VerificationFailed, "")
	_, err = svc.AttemptPhone(e.ctx, u, sess, np.ID, code)
	wantErr(t, err, apierr.VerificationFailed, "")

	e2, svc2, u2, sess2 := phoneEnv(t)
	np2, code2 := codeSent(t, e2, svc2, u2, sess2)
	e2.clock.Advance(e2.cfg.CodeTTL + time.Second)
	_, err = svc2.AttemptPhone(e2.ctx, u2, sess2, np2.ID, code2)
	wantErr(t, err, apierr.VerificationExpired, "")
}

// Deleting: an unverified number goes at once; the last identifier and
// the only second factor while one is required stay.
func TestDeletePhone(t *testing.T) {
	e, svc, _, _ := phoneEnv(t)
	solo := e.user(users.NewUser{Phones: []string{"+12015550130"}, Password: adaPass})
	sess := e.sessionOf(e.svc, "+12015550130") // no second factor required: active
	err := e.svc.DeletePhone(e.ctx, solo, sess, solo.Phones[0].ID)
	wantErr(t, err, apierr.FormParamValueInvalid, "id")
	np, _ := e.svc.CreatePhone(e.ctx, solo, sess, newNumber)
	if err := e.svc.DeletePhone(e.ctx, solo, sess, np.ID); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.svc.NewPhones(e.ctx, solo.ID); len(list) != 0 {
		t.Fatalf("not deleted: %+v", list)
	}
	err = e.svc.DeletePhone(e.ctx, solo, sess, np.ID)
	wantErr(t, err, apierr.ResourceNotFound, "")

	ada := e.user(users.NewUser{Emails: []string{"ada2@example.com"}, Phones: []string{"+12015550131"}, Password: adaPass})
	as := e.sessionOf(svc, "ada2@example.com")
	added, err := svc.ReservePhone(e.ctx, ada, as, ada.Phones[0].ID, true)
	if err != nil {
		t.Fatal(err)
	}
	err = svc.DeletePhone(e.ctx, ada, added.Session, ada.Phones[0].ID)
	wantErr(t, err, apierr.FormParamValueInvalid, "")
	if got, _ := e.users.Get(e.ctx, ada.ID); len(got.Phones) != 1 {
		t.Fatalf("the only second factor was removed: %+v", got.Phones)
	}
}

// Without a recent first factor, the step that adds the identifier asks
// for reverification; adding a number waiting for its code does not.
func TestAddPhoneReverification(t *testing.T) {
	e, svc, u, sess := phoneEnv(t)
	e.clock.Advance(11 * time.Minute)
	np, err := svc.CreatePhone(e.ctx, u, sess, newNumber)
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.AttemptPhone(e.ctx, u, sess, np.ID, "123456")
	wantErr(t, err, apierr.SessionReverificationRequired, "")
}

// The right code, tried by 20 requests at once, adds the number once.
func TestAddPhoneCodeOnceUnderRace(t *testing.T) {
	e, svc, u, sess := phoneEnv(t)
	np, code := codeSent(t, e, svc, u, sess)
	var mu sync.Mutex
	wins := 0
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := svc.AttemptPhone(e.ctx, u, sess, np.ID, code); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got, _ := e.users.Get(e.ctx, u.ID)
	if wins != 1 || len(got.Phones) != 1 {
		t.Fatalf("%d wins, phones %+v; want 1 and 1", wins, got.Phones)
	}
}
