package handlers_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/users"
)

func TestImportedBcryptDigestIsUpgradedOnSignIn(t *testing.T) {
	e := newEnv(t)
	digest, err := bcrypt.GenerateFromPassword([]byte(alicePW), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	u, err := e.eng.Users.Create(context.Background(), users.NewUser{
		Emails: []string{"old@example.com"}, PasswordDigest: string(digest), PasswordHasher: "bcrypt",
	})
	if err != nil {
		t.Fatal(err)
	}
	e.browser().signIn("old@example.com", alicePW)
	got, err := e.eng.Users.Get(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.PasswordDigest, "$argon2id$") {
		t.Fatalf("digest not upgraded: %q", got.PasswordDigest[:10])
	}
	e.browser().signIn("old@example.com", alicePW)
}

func TestSendsAreLimitedPerIdentifier(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
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

func TestDeliveryFailureIsAClearErrorAndTheCodeIsUnusable(t *testing.T) {
	e := newEnv(t, noEnumeration, func(o *envOpt) {
		o.engineCfg = func(c *app.Config) {
			dead, err := notify.NewSMTP(notify.SMTPConfig{Address: "127.0.0.1:1", From: "a@example.com", TLS: "none"})
			if err != nil {
				t.Fatal(err)
			}
			c.Emailer = dead
		}
	})
	e.createUser("alice@example.com", "", alicePW)
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
