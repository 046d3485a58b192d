package signin

import (
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/users"
)

func (e *env) requestFrom(ip string) Request {
	rq := e.request()
	rq.IP = ip
	return rq
}

func TestRequestsPerIP(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RequestsPerIP = 2 })
	e.ada()
	const ip = "192.0.2.1"
	rq := e.requestFrom(ip)
	var a *Attempt
	for i := 0; i < 2; i++ {
		a = e.create(rq, CreateParams{Identifier: adaEmail}).Attempt
	}
	_, err := e.svc.Create(e.ctx, rq, CreateParams{Identifier: adaEmail})
	if got := wantErr(t, err, apierr.TooManyRequests, ""); got.RetryAfter < time.Second {
		t.Fatalf("retry after %v", got.RetryAfter)
	}
	// Each action has its own budget.
	e.attemptOK(rq, a.ID, AttemptParams{Strategy: StrategyPassword, Password: adaPass})
	for i := 0; i < 2; i++ {
		if err := e.svc.AllowIP(e.ctx, "change_password", ip); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, e.svc.AllowIP(e.ctx, "change_password", ip), apierr.TooManyRequests, "")
	// So has each IP; a caller without one is not limited.
	e.create(e.requestFrom("192.0.2.2"), CreateParams{Identifier: adaEmail})
	for i := 0; i < 3; i++ {
		e.create(e.request(), CreateParams{Identifier: adaEmail})
	}
	e.clock.Advance(defaults.RequestWindow)
	e.create(rq, CreateParams{Identifier: adaEmail})
}

func TestSendsPerIdentifier(t *testing.T) {
	for _, known := range []bool{true, false} {
		name := map[bool]string{true: "known", false: "unknown"}[known]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, protected, func(c *Config) { c.SendsPerIdentifier = 2 })
			ident := "nobody@example.com"
			if known {
				e.ada()
				ident = adaEmail
			}
			rq := e.request()
			a := e.create(rq, CreateParams{Strategy: StrategyEmailCode, Identifier: ident}).Attempt
			e.clock.Advance(e.cfg.ResendAfter)
			e.prepare(rq, a.ID, PrepareParams{Strategy: StrategyEmailCode})
			e.clock.Advance(e.cfg.ResendAfter)
			_, err := e.svc.Prepare(e.ctx, rq, a.ID, PrepareParams{Strategy: StrategyEmailCode})
			wantErr(t, err, apierr.VerificationCodeTooManyRequests, "")
			// The limit is the identifier's, not the attempt's.
			_, err = e.svc.Create(e.ctx, e.request(), CreateParams{Strategy: StrategyEmailCode, Identifier: ident})
			wantErr(t, err, apierr.VerificationCodeTooManyRequests, "")
			if n := len(e.ev.find("code_sent")); n != 2 {
				t.Fatalf("%d codes sent, want 2", n)
			}
			e.clock.Advance(e.cfg.SendWindow)
			e.create(e.request(), CreateParams{Strategy: StrategyEmailCode, Identifier: ident})
		})
	}
}

func TestSendsPerIP(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.SendsPerIP = 2 })
	for _, email := range []string{"one@example.com", "two@example.com", "three@example.com"} {
		e.user(users.NewUser{Emails: []string{email}})
	}
	const ip = "198.51.100.7"
	e.create(e.requestFrom(ip), CreateParams{Strategy: StrategyEmailCode, Identifier: "one@example.com"})
	e.create(e.requestFrom(ip), CreateParams{Strategy: StrategyEmailCode, Identifier: "two@example.com"})
	_, err := e.svc.Create(e.ctx, e.requestFrom(ip), CreateParams{Strategy: StrategyEmailCode, Identifier: "three@example.com"})
	wantErr(t, err, apierr.VerificationCodeTooManyRequests, "")
	e.create(e.requestFrom("198.51.100.8"), CreateParams{Strategy: StrategyEmailCode, Identifier: "three@example.com"})
	if n := len(e.out.all(e.pool)); n != 3 {
		t.Fatalf("%d codes delivered, want 3", n)
	}
}
