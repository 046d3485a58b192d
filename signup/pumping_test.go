package signup

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/users"
)

func TestPhoneSignUpOnlyToMobilesInTheListedCountries(t *testing.T) {
	e := newEnv(t, on)
	for _, tc := range []struct {
		number, long string
	}{
		{frMobile, "Phone numbers from this country (FR) are currently not supported."},
		{gbFixed, "use a mobile number"},
		{gbPremium, "use a mobile number"},
	} {
		_, err := e.svc.Create(e.ctx, e.client(), CreateParams{PhoneNumber: tc.number, Password: goodPass})
		var ae *apierr.Error
		if !errors.As(err, &ae) || ae.Code != "form_param_format_invalid" || ae.Status != 422 ||
			ae.Meta["param_name"] != "phone_number" || !strings.Contains(ae.LongMessage, tc.long) {
			t.Fatalf("%s: %v, want form_param_format_invalid %q", tc.number, err, tc.long)
		}
	}
	// US numbers are FIXED_LINE_OR_MOBILE, GB mobiles MOBILE: both go.
	for _, number := range []string{usMobile, gbMobile} {
		rq := e.client()
		res, err := e.svc.Create(e.ctx, rq, CreateParams{PhoneNumber: number, Password: goodPass})
		if err != nil {
			t.Fatalf("%s: %v", number, err)
		}
		if _, err := e.svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyPhoneCode}); err != nil {
			t.Fatalf("%s: %v", number, err)
		}
		n := e.out.Last(t, e.pool)
		if n.Channel != notify.ChannelSMS || n.To != number || n.Kind != notify.KindSignUpCode {
			t.Fatalf("sent %+v", n)
		}
		res, err = e.svc.AttemptVerification(e.ctx, rq, res.Attempt.ID, AttemptParams{Strategy: StrategyPhoneCode, Code: n.Code})
		if err != nil || res.Attempt.Status != StatusComplete || res.User.PrimaryPhone() != number {
			t.Fatalf("%s: %+v %v", number, res, err)
		}
	}
}

func TestNoCountriesNoPhoneSignUp(t *testing.T) {
	e := newEnv(t, on, func(c *Config) { c.PhoneCountries = nil })
	_, err := e.svc.Create(e.ctx, e.client(), CreateParams{PhoneNumber: usMobile, Password: goodPass})
	wantCode(t, err, "form_param_value_invalid")
	// Nor phone when only email is configured.
	e = newEnv(t, func(c *Config) { c.Enabled = true; c.PhoneCountries = []string{"US"} })
	_, err = e.svc.Create(e.ctx, e.client(), CreateParams{PhoneNumber: usMobile, Password: goodPass})
	wantCode(t, err, "form_param_value_invalid")
}

func TestSMSBudgetPerCountry(t *testing.T) {
	e := newEnv(t, on, func(c *Config) {
		c.Limits.SMSPerIPPerCountry, c.Limits.SMSPerCountry, c.Limits.SendsPerIP = 2, 3, 100
	})
	send := func(rq Request, number string) error {
		t.Helper()
		res, err := e.svc.Create(e.ctx, rq, CreateParams{PhoneNumber: number, Password: goodPass})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyPhoneCode})
		return err
	}
	us := []string{"+12015550101", "+12015550102", "+12015550103", "+12015550104"}
	// One IP: two SMS to the US, then refused; GB is another budget.
	one := e.client()
	for i, number := range us[:3] {
		err := send(Request{Client: one.Client, IP: one.IP}, number)
		if i < 2 && err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if i == 2 {
			wantCode(t, err, "verification_code_too_many_requests")
		}
	}
	if err := send(Request{Client: one.Client, IP: one.IP}, gbMobile); err != nil {
		t.Fatalf("GB from the same IP: %v", err)
	}
	// Everyone: the third US SMS in the window goes, the fourth (another
	// IP) is refused.
	if err := send(e.client(), us[2]); err != nil {
		t.Fatal(err)
	}
	wantCode(t, send(e.client(), us[3]), "verification_code_too_many_requests")
	e.Clock.Advance(time.Hour + time.Second)
	if err := send(e.client(), us[3]); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestSMSBudgetPerNumberRange(t *testing.T) {
	e := newEnv(t, on, func(c *Config) { c.Limits.SMSPerPrefix = 2 })
	send := func(number string) error {
		t.Helper()
		rq := e.client() // a new IP each time: only the range counts
		res, err := e.svc.Create(e.ctx, rq, CreateParams{PhoneNumber: number, Password: goodPass})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyPhoneCode})
		return err
	}
	for _, n := range []string{"+12015550101", "+12015550102"} {
		if err := send(n); err != nil {
			t.Fatalf("%s: %v", n, err)
		}
	}
	wantCode(t, send("+12015550199"), "verification_code_too_many_requests")
	if err := send("+12025550123"); err != nil {
		t.Fatalf("another range: %v", err)
	}
}

// A number that has an account gets the notice by SMS, not a code, and
// the same answers as a new number.
func TestKnownNumberGetsTheNotice(t *testing.T) {
	e := newEnv(t, on)
	e.user(users.NewUser{Phones: []string{gbMobile}, Password: goodPass})
	rq := e.client()
	res, err := e.svc.Create(e.ctx, rq, CreateParams{PhoneNumber: gbMobile, Password: goodPass})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.PrepareVerification(e.ctx, rq, res.Attempt.ID, PrepareParams{Strategy: StrategyPhoneCode}); err != nil {
		t.Fatal(err)
	}
	n := e.out.Last(t, e.pool)
	if n.Channel != notify.ChannelSMS || n.Kind != notify.KindSignUpExisting || n.To != gbMobile || n.Code != "" {
		t.Fatalf("sent %+v, want the SMS notice", n)
	}
}
