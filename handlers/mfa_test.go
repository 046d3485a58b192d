package handlers_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/mfa"
)

// The second factors through the JSON API, over real services: the
// user's own endpoints (/v1/me/totp, backup_codes, sessions,
// phone_numbers), the sign-in's second step, reverification and the
// setup-mfa task at the gate.

// withMFA configures the second factors.
func withMFA(cfg mfa.Config) func(*envOpt) {
	return func(o *envOpt) {
		prev := o.engineCfg
		o.engineCfg = func(c *app.Config) {
			if prev != nil {
				prev(c)
			}
			c.MFA = &cfg
		}
	}
}

var (
	mfaDefaults = mfa.Config{TOTP: true, BackupCodes: true}
	mfaAll      = mfa.Config{TOTP: true, BackupCodes: true, PhoneCode: true}
	mfaRequired = mfa.Config{TOTP: true, BackupCodes: true, Required: true}
)

// totp is the authenticator code of secret at the environment's clock.
func (e *env) totp(secret string) string {
	e.tb.Helper()
	c, err := mfa.CodeAt(secret, e.clock.Now())
	noErr(e.tb, err)
	return c
}

// nextStep moves the clock to the next TOTP step, so that a new code is
// not the one just used.
func (e *env) nextStep() { e.clock.Advance(30 * time.Second) }

// enrolTOTP sets up an authenticator app for b's user through the API
// and returns its secret and the first backup codes.
func (b *browser) enrolTOTP() (string, []string) {
	t := b.e.tb
	t.Helper()
	r := b.post("/v1/me/totp", nil)
	expect(t, r, 200, "")
	secret := r.str("secret")
	if r.str("object") != "totp" || !strings.HasPrefix(r.str("uri"), "otpauth://totp/") || r.resp()["verified"] != false || secret == "" {
		t.Fatalf("createTOTP: %s", r.body)
	}
	r = b.post("/v1/me/totp/attempt_verification", form("code", b.e.totp(secret)))
	expect(t, r, 200, "")
	var codes []string
	for _, c := range r.resp()["backup_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	if r.resp()["verified"] != true || len(codes) != mfa.BackupCodeCount {
		t.Fatalf("verifyTOTP: %s", r.body)
	}
	b.e.nextStep()
	return secret, codes
}

// me is GET /v1/me's user.
func (b *browser) me() map[string]any {
	b.e.tb.Helper()
	r := b.get("/__authgate/v1/me", nil)
	expect(b.e.tb, r, 200, "")
	return r.resp()
}

func flags(u map[string]any) [3]any {
	return [3]any{u["two_factor_enabled"], u["totp_enabled"], u["backup_code_enabled"]}
}

// secondStep starts a password sign-in that must stop at the second
// factor, and returns the attempt's id and the strategies offered.
func (b *browser) secondStep(ident, pw string) (string, []string) {
	t := b.e.tb
	t.Helper()
	r := b.post("/v1/client/sign_ins", form("identifier", ident, "password", pw))
	expect(t, r, 200, "")
	if r.str("status") != "needs_second_factor" || r.resp()["created_session_id"] != nil || b.jarCookie("__session") != "" {
		t.Fatalf("first factor of an MFA user: %s", r.body)
	}
	var strategies []string
	for _, f := range r.resp()["supported_second_factors"].([]any) {
		strategies = append(strategies, f.(map[string]any)["strategy"].(string))
	}
	return r.str("id"), strategies
}

func (b *browser) attemptSecond(id, strategy, code string) reply {
	b.e.tb.Helper()
	return b.post("/v1/client/sign_ins/"+id+"/attempt_second_factor", form("strategy", strategy, "code", code))
}

func TestMFAEnrolAndSignIn(t *testing.T) {
	for _, be := range storeBackends {
		t.Run(be.name, func(t *testing.T) {
			e, u := aliceEnv(t, append(be.opts, withMFA(mfaDefaults))...)
			b, _ := e.aliceBrowser()
			if got := flags(b.me()); got != [3]any{false, false, false} {
				t.Fatalf("before: %v", got)
			}
			// A wrong first code does not enable anything.
			expect(t, b.post("/v1/me/totp", nil), 200, "")
			expect(t, b.post("/v1/me/totp/attempt_verification", form("code", "000000")), 422, "form_code_incorrect")
			secret, codes := b.enrolTOTP()
			me := b.me()
			if got := flags(me); got != [3]any{true, true, true} || me["id"] != u.ID {
				t.Fatalf("after enrolling: %v", me)
			}

			// A new browser: the password is not enough any more.
			nb := e.browser()
			id, offered := nb.secondStep("alice@example.com", alicePW)
			if strings.Join(offered, ",") != "totp,backup_code" {
				t.Fatalf("offered %v", offered)
			}
			if r := nb.get("/private", navigation); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/__authgate/sign-in") {
				t.Fatalf("before the second factor the gate says %d %s", r.status, r.header.Get("Location"))
			}
			r := nb.attemptSecond(id, "totp", otherCode(e.totp(secret)))
			expect(t, r, 422, "form_code_incorrect")
			r = nb.get("/__authgate/v1/client/sign_ins/"+id, nil)
			v, _ := r.resp()["second_factor_verification"].(map[string]any)
			if v["strategy"] != "totp" || v["attempts"] != 1.0 || v["status"] != "unverified" {
				t.Fatalf("second_factor_verification %v", r.resp()["second_factor_verification"])
			}
			r = nb.attemptSecond(id, "totp", e.totp(secret))
			expect(t, r, 200, "")
			if r.str("status") != "complete" || r.str("created_session_id") == "" || nb.jarCookie("__session") == "" {
				t.Fatalf("after the second factor: %s", r.body)
			}
			if got := nb.get("/private", nil); got.status != 200 {
				t.Fatalf("signed in with two factors, the gate says %d", got.status)
			}
			// The same code again, in another sign-in, is refused.
			ob := e.browser()
			id, _ = ob.secondStep("alice@example.com", alicePW)
			expect(t, ob.attemptSecond(id, "totp", e.totp(secret)), 422, "form_code_incorrect")
			// A backup code works once.
			expect(t, ob.attemptSecond(id, "backup_code", codes[3]), 200, "")
			again := e.browser()
			id, _ = again.secondStep("alice@example.com", alicePW)
			expect(t, again.attemptSecond(id, "backup_code", codes[3]), 422, "form_code_incorrect")
		})
	}
}

func TestMFAManageWithReverification(t *testing.T) {
	e, _ := aliceEnv(t, withMFA(mfaDefaults))
	b, r := e.aliceBrowser()
	sid := r.str("created_session_id")
	e.clock.Advance(11 * time.Minute)
	expect(t, b.post("/v1/me/totp", nil), 403, "session_reverification_required")
	r = b.post("/v1/client/sessions/"+sid+"/verify", form("level", "first_factor"))
	expect(t, r, 200, "")
	if r.str("object") != "session_verification" || r.str("status") != "needs_first_factor" {
		t.Fatalf("verify: %s", r.body)
	}
	path := "/v1/client/sessions/" + sid + "/verify/attempt_first_factor"
	expect(t, b.post(path, form("strategy", "password", "password", "wrong")), 422, "form_password_incorrect")
	r = b.post(path, form("strategy", "password", "password", alicePW))
	expect(t, r, 200, "")
	if r.str("status") != "complete" {
		t.Fatalf("reverified: %s", r.body)
	}
	b.enrolTOTP()

	// New backup codes replace the old set; the app can be removed.
	r = b.post("/v1/me/backup_codes", nil)
	expect(t, r, 200, "")
	if r.str("object") != "backup_code" || len(r.resp()["codes"].([]any)) != mfa.BackupCodeCount {
		t.Fatalf("backup codes: %s", r.body)
	}
	r = b.do(http.MethodDelete, "/__authgate/v1/me/totp", nil, nil)
	expect(t, r, 200, "")
	if r.resp()["deleted"] != true || r.resp()["object"] != "totp" {
		t.Fatalf("disable: %s", r.body)
	}
	if got := flags(b.me()); got != [3]any{false, false, false} {
		t.Fatalf("after removing: %v", got)
	}
	// The password alone signs in again.
	e.browser().signIn("alice@example.com", alicePW)
}

// With a second factor required, the gate holds a user without one at
// the setup-mfa task; enrolling through the API finishes it.
func TestMFARequiredTask(t *testing.T) {
	e, _ := aliceEnv(t, withMFA(mfaRequired), withTaskURL("setup-mfa", "/account/mfa"))
	b := e.browser()
	r := b.post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", alicePW))
	expect(t, r, 200, "")
	if s := sessionOf(t, r); s["status"] != "pending" || s["tasks"].([]any)[0].(map[string]any)["key"] != "setup-mfa" {
		t.Fatalf("session %v", s)
	}
	nav := b.get("/orders", navigation)
	if nav.status != http.StatusSeeOther || nav.header.Get("Location") != "/account/mfa?redirect_url=%2Forders" {
		t.Fatalf("navigation: %d %s", nav.status, nav.header.Get("Location"))
	}
	api := b.get("/api/orders", nil)
	expect(t, api, 403, "session_task_pending")
	if meta := api.json["errors"].([]any)[0].(map[string]any)["meta"].(map[string]any); meta["tasks"].([]any)[0] != "setup-mfa" {
		t.Fatalf("meta %v", meta)
	}
	// The pending session may not do what an active one does.
	expect(t, b.get("/__authgate/v1/me/sessions/active", nil), 403, "session_task_pending")
	b.enrolTOTP()
	if got := b.get("/orders", navigation); got.status != 200 {
		t.Fatalf("after enrolling the gate says %d %s", got.status, got.header.Get("Location"))
	}
	// Removing the only factor is refused while one is required.
	expect(t, b.do(http.MethodDelete, "/__authgate/v1/me/totp", nil, nil), 422, "form_param_value_invalid")
}

// The seed's reset for an MFA user: code and new password answer
// needs_second_factor, the password is changed already, and the second
// factor completes it.
func TestMFAReset(t *testing.T) {
	e, b, id, code := aliceResetting(t, withMFA(mfaDefaults))
	secret, _ := e.aliceWithTOTP()
	r := b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor",
		form("strategy", "reset_password_email_code", "code", code, "password", "a-fresh-passphrase-9"))
	expect(t, r, 200, "")
	if r.str("status") != "needs_second_factor" || r.resp()["created_session_id"] != nil {
		t.Fatalf("reset of an MFA user: %s", r.body)
	}
	// The new password is the one now (and it too needs the second factor).
	e.browser().secondStep("alice@example.com", "a-fresh-passphrase-9")
	r = b.attemptSecond(id, "totp", e.totp(secret))
	expect(t, r, 200, "")
	if r.str("status") != "complete" || b.jarCookie("__session") == "" {
		t.Fatalf("after the second factor: %s", r.body)
	}
}

// aliceWithTOTP enrols an authenticator app for alice in another browser.
func (e *env) aliceWithTOTP() (string, []string) {
	e.tb.Helper()
	b, _ := e.aliceBrowser()
	return b.enrolTOTP()
}

func TestMeSessions(t *testing.T) {
	e, _ := aliceEnv(t, withMFA(mfaDefaults))
	b, r := e.aliceBrowser()
	mine := r.str("created_session_id")
	other, r := e.aliceBrowser()
	theirs := r.str("created_session_id")
	list := b.get("/__authgate/v1/me/sessions/active", nil)
	// The answer is an unwrapped array, as Clerk's.
	var arr []any
	if err := json.Unmarshal(list.body, &arr); err != nil || list.status != 200 || len(arr) != 2 {
		t.Fatalf("sessions: %d %s (%v)", list.status, list.body, err)
	}
	current := 0
	for _, s := range arr {
		if m := s.(map[string]any); m["current"] == true {
			current++
			if m["id"] != mine {
				t.Fatalf("the current session is %v, want %s", m["id"], mine)
			}
		}
	}
	if current != 1 {
		t.Fatalf("%d current sessions in %s", current, list.body)
	}
	expect(t, b.post("/v1/me/sessions/sess_00000000000000000000000000/revoke", nil), 404, "resource_not_found")
	r = b.post("/v1/me/sessions/"+theirs+"/revoke", nil)
	expect(t, r, 200, "")
	if r.str("status") != "revoked" {
		t.Fatalf("revoke: %s", r.body)
	}
	// At its next refresh the other browser is signed out.
	e.clock.Advance(2 * time.Minute)
	if got := other.get("/api/x", nil); got.status != http.StatusUnauthorized {
		t.Fatalf("the revoked browser: %d", got.status)
	}
	if got := b.get("/api/x", nil); got.status != 200 {
		t.Fatalf("the revoking browser: %d", got.status)
	}
}

func TestPhoneAsSecondFactor(t *testing.T) {
	e := newEnv(t, withMFA(mfaAll))
	u := e.createUser("alice@example.com", "+15555550100", alicePW)
	b, _ := e.aliceBrowser()
	r := b.do(http.MethodPatch, "/__authgate/v1/me/phone_numbers/"+u.Phones[0].ID, form("reserved_for_second_factor", "true"), nil)
	expect(t, r, 200, "")
	if r.resp()["reserved_for_second_factor"] != true || len(r.resp()["backup_codes"].([]any)) != mfa.BackupCodeCount {
		t.Fatalf("reserve: %s", r.body)
	}
	if got := flags(b.me()); got != [3]any{true, false, true} {
		t.Fatalf("flags %v", got)
	}
	nb := e.browser()
	id, offered := nb.secondStep("alice@example.com", alicePW)
	if strings.Join(offered, ",") != "phone_code,backup_code" {
		t.Fatalf("offered %v", offered)
	}
	r = nb.post("/v1/client/sign_ins/"+id+"/prepare_second_factor", form("strategy", "phone_code", "phone_number_id", u.Phones[0].ID))
	expect(t, r, 200, "")
	if f := r.resp()["supported_second_factors"].([]any)[0].(map[string]any); f["phone_number_id"] != u.Phones[0].ID || f["safe_identifier"] != "+15*******00" {
		t.Fatalf("phone factor %v", f)
	}
	r = nb.attemptSecond(id, "phone_code", e.sms.code(t, "+15555550100"))
	expect(t, r, 200, "")
	if r.str("status") != "complete" {
		t.Fatalf("after the SMS code: %s", r.body)
	}
}

// prepare_second_factor again after the wait texts a new code, which
// replaces the first; too soon it is refused and nothing is sent.
func TestSecondFactorSMSResend(t *testing.T) {
	e := newEnv(t, withMFA(mfaAll))
	u := e.createUser("alice@example.com", "+15555550100", alicePW)
	b, _ := e.aliceBrowser()
	expect(t, b.do(http.MethodPatch, "/__authgate/v1/me/phone_numbers/"+u.Phones[0].ID, form("reserved_for_second_factor", "true"), nil), 200, "")
	nb := e.browser()
	id, _ := nb.secondStep("alice@example.com", alicePW)
	prepare := func() reply {
		return nb.post("/v1/client/sign_ins/"+id+"/prepare_second_factor", form("strategy", "phone_code", "phone_number_id", u.Phones[0].ID))
	}
	expect(t, prepare(), 200, "")
	first := e.sms.code(t, "+15555550100")
	if r := prepare(); r.status != http.StatusTooManyRequests {
		t.Fatalf("a resend at once: %d %s", r.status, r.body)
	}
	e.eng.Deliveries.Wait()
	if n := e.sms.count("+15555550100"); n != 1 {
		t.Fatalf("%d texts after a refused resend", n)
	}
	endResendWindow(t, e, id)
	r := prepare()
	expect(t, r, 200, "")
	if v, _ := r.resp()["second_factor_verification"].(map[string]any); v["strategy"] != "phone_code" || v["status"] != "unverified" || v["attempts"] != 0.0 {
		t.Fatalf("second_factor_verification after the resend: %v", r.resp()["second_factor_verification"])
	}
	e.eng.Deliveries.Wait()
	second := e.sms.code(t, "+15555550100")
	if n := e.sms.count("+15555550100"); n != 2 || second == first {
		t.Fatalf("%d texts, codes %s then %s", n, first, second)
	}
	expect(t, nb.attemptSecond(id, "phone_code", first), 422, "form_code_incorrect")
	r = nb.attemptSecond(id, "phone_code", second)
	expect(t, r, 200, "")
	if r.str("status") != "complete" {
		t.Fatalf("after the resent code: %s", r.body)
	}
}

// endResendWindow ends the wait before another SMS code of the sign-in's
// second step may go out. The wait is a store key's TTL, which the store
// counts in real time (the test clock does not move it): the test removes
// the key rather than sleep.
func endResendWindow(t *testing.T, e *env, signInID string) {
	t.Helper()
	if signInID == "" {
		t.Fatal("no sign-in id")
	}
	if err := e.st.Delete(t.Context(), "2fa:resend:"+signInID); err != nil {
		t.Fatal(err)
	}
}
