package handlers_test

import (
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/notify"
)

// One-time codes through the JSON API: resend cooldown, per-identifier
// send limits, expiry, wrong and concurrent attempts, codes bound to their
// user, failed deliveries.

func TestPrepareFirstFactorResendsAfterCooldownOnly(t *testing.T) {
	e, u := aliceEnv(t)
	b := e.browser()
	r := b.post("/v1/client/sign_ins", form("identifier", "alice@example.com"))
	expect(t, r, 200, "")
	id := r.str("id")
	factors := r.resp()["supported_first_factors"].([]any)
	var found bool
	for _, f := range factors {
		f := f.(map[string]any)
		if f["strategy"] == "reset_password_email_code" && f["email_address_id"] == u.Emails[0].ID && f["safe_identifier"] == "a*****@example.com" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no reset factor in %v", factors)
	}
	prep := form("strategy", "reset_password_email_code", "email_address_id", u.Emails[0].ID)
	expect(t, b.post("/v1/client/sign_ins/"+id+"/prepare_first_factor", prep), 200, "")
	r = b.post("/v1/client/sign_ins/"+id+"/prepare_first_factor", prep)
	expect(t, r, 429, "verification_code_too_many_requests")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

func TestSendsAreLimitedPerIdentifier(t *testing.T) {
	e, _ := aliceEnv(t)
	for i := 1; i <= 6; i++ {
		r := e.browser().post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
		if i <= 5 {
			expect(t, r, 200, "")
			continue
		}
		expect(t, r, 429, "verification_code_too_many_requests")
		if r.header.Get("Retry-After") == "" {
			t.Fatal("no Retry-After")
		}
	}
	// The same limit applies to an unknown address (no enumeration by 429s).
	for i := 1; i <= 6; i++ {
		r := e.browser().post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "ghost@example.com"))
		if i == 6 {
			expect(t, r, 429, "verification_code_too_many_requests")
		}
	}
}

func TestCodeExpiresAfterTenMinutes(t *testing.T) {
	e, _ := aliceEnv(t)
	start := func() (*browser, string, string) {
		b := e.browser()
		r := b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
		expect(t, r, 200, "")
		code := e.mail.LatestCode(t, "alice@example.com")
		e.mail.DeleteAll(t)
		return b, r.str("id"), code
	}
	b, id, code := start()
	e.clock.Advance(9*time.Minute + 59*time.Second)
	expect(t, b.attemptReset(id, code), 200, "")

	b, id, code = start()
	e.clock.Advance(10*time.Minute + time.Second)
	expect(t, b.attemptReset(id, code), 400, "verification_expired")
}

func TestWrongCodesKillTheAttemptEvenForTheRightCode(t *testing.T) {
	_, b, id, code := aliceResetting(t)
	wrong := otherCode(code)
	for i := 1; i <= 6; i++ {
		r := b.attemptReset(id, wrong)
		if i < 5 {
			expect(t, r, 422, "form_code_incorrect")
		} else {
			expect(t, r, 400, "verification_failed")
		}
	}
	expect(t, b.attemptReset(id, code), 400, "verification_failed")
}

func TestConcurrentWrongCodesCompareAtMostMaxAttempts(t *testing.T) {
	_, b, id, code := aliceResetting(t)
	wrong := otherCode(code)
	var wg sync.WaitGroup
	var mu sync.Mutex
	incorrect := 0
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.attemptReset(id, wrong)
			if r.errCode() == "form_code_incorrect" {
				mu.Lock()
				incorrect++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if incorrect > 4 { // tries 1..4 say "incorrect", the 5th and later "failed"
		t.Fatalf("%d guesses were compared, the limit is 5", incorrect)
	}
	expect(t, b.attemptReset(id, code), 400, "verification_failed")
	// A dead attempt sends nothing more.
	expect(t, b.post("/v1/client/sign_ins/"+id+"/prepare_first_factor", form("strategy", "reset_password_email_code")), 400, "verification_failed")
}

func TestFiftyConcurrentRightCodesSucceedOnce(t *testing.T) {
	for _, tc := range storeBackends {
		t.Run(tc.name, func(t *testing.T) {
			_, b, id, code := aliceResetting(t, tc.opts...)
			var mu sync.Mutex
			ok := 0
			testenv.Together(50, func(int) {
				if r := b.attemptReset(id, code); r.status == 200 {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			})
			if ok != 1 {
				t.Fatalf("%d successes, want exactly 1", ok)
			}
		})
	}
}

func TestACodeForOneUserNeverWorksForAnother(t *testing.T) {
	e, _ := aliceEnv(t)
	e.createUser("bob@example.com", "", alicePW)
	a, b := e.browser(), e.browser()
	ra := a.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
	aliceCode := e.mail.LatestCode(t, "alice@example.com")
	// Draw Bob's code until it differs from Alice's (they collide one
	// time in a million, and then the test would prove nothing).
	var rb reply
	for i := 0; ; i++ {
		rb = b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "bob@example.com"))
		e.eng.Deliveries.Wait()
		if e.mail.LatestCode(t, "bob@example.com") != aliceCode {
			break
		}
		if i == 3 {
			t.Fatal("Bob keeps getting Alice's code")
		}
	}
	expect(t, b.attemptReset(rb.str("id"), aliceCode), 422, "form_code_incorrect")
	// Bob's client cannot even see Alice's attempt.
	expect(t, b.attemptReset(ra.str("id"), aliceCode), 404, "resource_not_found")
}

func TestDeliveryFailureIsAClearErrorAndTheCodeIsUnusable(t *testing.T) {
	e := newEnv(t, noEnumeration, func(o *envOpt) {
		o.engineCfg = func(c *app.Config) {
			dead, err := notify.NewSMTP(notify.SMTPConfig{Address: "127.0.0.1:1", From: "a@example.com", TLS: "none"})
			noErr(t, err)
			c.Emailer = dead
		}
	})
	e.alice()
	b := e.browser()
	expect(t, b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com")), 502, "delivery_failed")
	r := b.post("/v1/client/sign_ins", form("identifier", "alice@example.com"))
	expect(t, r, 200, "")
	id := r.str("id")
	expect(t, b.post("/v1/client/sign_ins/"+id+"/prepare_first_factor", form("strategy", "reset_password_email_code")), 502, "delivery_failed")
	si := map[string]any{"id": id}
	for _, code := range []string{"000000", "123456"} {
		r = b.post("/v1/client/sign_ins/"+si["id"].(string)+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", code))
		if r.status == 200 {
			t.Fatalf("a code worked after a failed delivery: %s", r.body)
		}
	}
}
