package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/signup"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// The sign-up API (/v1/client/sign_ups) over a whole site: real stores,
// mailpit, the SMS webhook sink.

const suPass = "a-brand-new-passphrase"

// suEnv is a site with sign-up configured as cfg says (the per-IP
// request limits lifted unless cfg sets them: every test browser is
// 127.0.0.1).
func suEnv(t *testing.T, cfg signup.Config, opts ...func(*envOpt)) *env {
	t.Helper()
	if cfg.Limits.CreatesPerIP == 0 {
		cfg.Limits.CreatesPerIP, cfg.Limits.AttemptsPerIP = 1000, 1000
	}
	opts = append(opts, func(o *envOpt) { o.engineCfg = func(c *app.Config) { c.SignUp = cfg } })
	e := newEnv(t, opts...)
	e.srv = handlers.New(handlers.Config{
		Prefix: "/__authgate", SignInURL: "/__authgate/sign-in", AfterSignInURL: "/",
		Tasks: tasks.NewRouter("/__authgate", nil),
	}, e.suDeps(e.eng))
	return e
}

func (e *env) suDeps(eng *app.Services) handlers.Deps {
	d := e.deps()
	d.Users, d.Sessions, d.SignIn, d.Tokens, d.Events = eng.Users, eng.Sessions, eng.SignIn, eng.Tokens, eng.Events
	d.SignUp = eng.SignUp
	return d
}

var emailOnly = signup.Config{Enabled: true}

func TestSignUpAPIOffAnswers403(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, r := range []reply{
		b.post("/v1/client/sign_ups", form("email_address", "new@example.com", "password", suPass)),
		b.get("/__authgate/v1/client/sign_ups/sua_x", nil),
		b.do(http.MethodPatch, "/__authgate/v1/client/sign_ups/sua_x", form("username", "x"), nil),
		b.post("/v1/client/sign_ups/sua_x/prepare_verification", form("strategy", "email_code")),
		b.post("/v1/client/sign_ups/sua_x/attempt_verification", form("strategy", "email_code", "code", "123456")),
	} {
		expect(t, r, http.StatusForbidden, "sign_up_disabled")
	}
	// The client shows no sign-up either.
	r := b.do(http.MethodPost, "/__authgate/v1/client", nil, nil)
	if r.json["client"].(map[string]any)["sign_up"] != nil {
		t.Fatalf("client %s", r.body)
	}
}

func TestSignUpAPIByEmail(t *testing.T) {
	for _, tc := range storeBackends {
		t.Run(tc.name, func(t *testing.T) {
			e := suEnv(t, emailOnly, tc.opts...)
			b := e.browser()
			r := b.post("/v1/client/sign_ups", form("email_address", "New@Example.com", "password", suPass, "locale", "en-US", "unknown_param", "x"))
			expect(t, r, 200, "")
			id := r.str("id")
			resp := r.resp()
			if resp["object"] != "sign_up_attempt" || !strings.HasPrefix(id, "sua_") || resp["status"] != "missing_requirements" ||
				resp["email_address"] != "new@example.com" || resp["has_password"] != true || resp["created_user_id"] != nil {
				t.Fatalf("create: %s", r.body)
			}
			if !reflect.DeepEqual(resp["unverified_fields"], []any{"email_address"}) || !reflect.DeepEqual(resp["missing_fields"], []any{}) ||
				!reflect.DeepEqual(resp["required_fields"], []any{"email_address", "password"}) {
				t.Fatalf("fields: %s", r.body)
			}
			v := resp["verifications"].(map[string]any)
			ev := v["email_address"].(map[string]any)
			if ev["status"] != "unverified" || ev["strategy"] != "email_code" || ev["next_action"] != "needs_prepare" ||
				v["phone_number"] != nil || v["external_account"] != nil || v["web3_wallet"] != nil {
				t.Fatalf("verifications: %v", v)
			}
			if su := r.json["client"].(map[string]any)["sign_up"].(map[string]any); su["id"] != id {
				t.Fatalf("the client's sign_up: %v", su)
			}
			if g := b.get("/__authgate/v1/client/sign_ups/"+id, nil); g.status != 200 || g.str("id") != id {
				t.Fatalf("get: %d %s", g.status, g.body)
			}
			r = b.post("/v1/client/sign_ups/"+id+"/prepare_verification", form("strategy", "email_code"))
			expect(t, r, 200, "")
			if ev := r.resp()["verifications"].(map[string]any)["email_address"].(map[string]any); ev["next_action"] != "needs_attempt" || ev["expire_at"] == nil {
				t.Fatalf("prepared: %v", ev)
			}
			code := e.mail.LatestCode(t, "new@example.com")
			expect(t, b.post("/v1/client/sign_ups/"+id+"/attempt_verification", form("strategy", "email_code", "code", otherCode(code))), 422, "form_code_incorrect")
			r = b.post("/v1/client/sign_ups/"+id+"/attempt_verification", form("strategy", "email_code", "code", code))
			expect(t, r, 200, "")
			uid, sid := r.str("created_user_id"), r.str("created_session_id")
			if r.str("status") != "complete" || !strings.HasPrefix(uid, "user_") || !strings.HasPrefix(sid, "sess_") {
				t.Fatalf("attempt: %s", r.body)
			}
			cl := r.json["client"].(map[string]any)
			if cl["last_active_session_id"] != sid || cl["sign_up"] != nil {
				t.Fatalf("client after sign-up: %v", cl)
			}
			// The session's user has the address, verified.
			user := cl["sessions"].([]any)[0].(map[string]any)["user"].(map[string]any)
			ea := user["email_addresses"].([]any)[0].(map[string]any)
			if user["id"] != uid || ea["email_address"] != "new@example.com" || ea["verification"].(map[string]any)["status"] != "verified" {
				t.Fatalf("the new user: %v", user)
			}
			// Signed in as by a sign-in: the session token, a new client
			// handle, and __client_uat for Clerk's backend SDKs.
			for _, name := range []string{handlers.CookieSession, handlers.CookieClient, handlers.CookieClientUAT} {
				if !hasCookie(r, name) {
					t.Fatalf("no %s cookie: %v", name, r.header.Values("Set-Cookie"))
				}
			}
			if got := b.get("/app", navigation).status; got != 200 {
				t.Fatalf("the new user does not pass the gate: %d", got)
			}
			h := e.upstreamHeaders()
			if h.Get("X-Authgate-User-Id") != uid || h.Get("X-Authgate-Email") != "new@example.com" {
				t.Fatalf("upstream headers %v", h)
			}
			// The user is the admin API's record and signs in with its password.
			e.browser().signIn("new@example.com", suPass)
		})
	}
}

func hasCookie(r reply, name string) bool {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name && c.Value != "" {
			return true
		}
	}
	return false
}

// shape is a sign-up response less what differs by nature (ids, times,
// the address itself).
func shape(t *testing.T, r reply) string {
	t.Helper()
	resp := r.resp()
	if resp == nil {
		return r.errCode()
	}
	cp := map[string]any{}
	for k, v := range resp {
		switch k {
		case "id", "abandon_at", "email_address":
			continue
		case "verifications":
			vs := v.(map[string]any)
			if ev, ok := vs["email_address"].(map[string]any); ok && ev["expire_at"] != nil {
				ev["expire_at"] = "set"
			}
		}
		cp[k] = v
	}
	b, err := json.Marshal(struct {
		Status int
		Resp   map[string]any
	}{r.status, cp})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSignUpAPIExistingAddressSameAnswersAndOwnerNotice(t *testing.T) {
	e := suEnv(t, emailOnly)
	owner := e.createUser("owner@example.com", "", alicePW)
	fresh, known := e.browser(), e.browser()
	steps := func(b *browser, addr string) (id string, out []string) {
		r := b.post("/v1/client/sign_ups", form("email_address", addr, "password", suPass))
		id = r.str("id")
		out = append(out, shape(t, r))
		out = append(out, shape(t, b.post("/v1/client/sign_ups/"+id+"/prepare_verification", form("strategy", "email_code"))))
		out = append(out, shape(t, b.post("/v1/client/sign_ups/"+id+"/prepare_verification", form("strategy", "email_code"))))
		out = append(out, shape(t, b.post("/v1/client/sign_ups/"+id+"/attempt_verification", form("strategy", "email_code", "code", "000000"))))
		return id, out
	}
	_, a := steps(fresh, "fresh@example.com")
	id, b := steps(known, "owner@example.com")
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("a known address is told apart:\nnew   %q\nknown %q", a, b)
	}
	e.eng.Deliveries.Wait()
	notice := e.mail.WaitFor(t, "owner@example.com", 10*time.Second)
	if !strings.Contains(notice.Subject, "tried to create") || !strings.Contains(notice.Text, "reset your password") {
		t.Fatalf("owner got %q: %s", notice.Subject, notice.Text)
	}
	if _, ok := testenv.ExtractCode(notice.Text); ok {
		t.Fatalf("the notice carries a code: %s", notice.Text)
	}
	// The code sent to the new address does not verify the known one.
	code := e.mail.LatestCode(t, "fresh@example.com")
	expect(t, known.post("/v1/client/sign_ups/"+id+"/attempt_verification", form("strategy", "email_code", "code", code)), 422, "form_code_incorrect")
	if u, err := e.eng.Users.Find(context.Background(), users.KindEmail, "owner@example.com"); err != nil || u.ID != owner.ID {
		t.Fatalf("the owner's account changed: %v %v", u, err)
	}
}

func TestSignUpAPIPasswordPolicy(t *testing.T) {
	e := suEnv(t, emailOnly)
	b := e.browser()
	expect(t, b.post("/v1/client/sign_ups", form("email_address", "new@example.com", "password", "password123")), 422, "form_password_pwned")
	expect(t, b.post("/v1/client/sign_ups", form("email_address", "new@example.com", "password", "short")), 422, "form_password_length_too_short")
	expect(t, b.post("/v1/client/sign_ups", form("email_address", "new@example.com", "password", "new@example.com")), 422, "form_password_matches_identifier")
}

func TestSignUpAPIPhone(t *testing.T) {
	e := suEnv(t, signup.Config{Enabled: true, Identifiers: []users.Kind{users.KindPhone}, PhoneCountries: []string{"US"}})
	b := e.browser()
	r := b.post("/v1/client/sign_ups", form("phone_number", "+33 6 12 34 56 78", "password", suPass))
	expect(t, r, 422, "form_param_format_invalid")
	if !strings.Contains(string(r.body), "Phone numbers from this country (FR) are currently not supported.") {
		t.Fatalf("refusal: %s", r.body)
	}
	expect(t, b.post("/v1/client/sign_ups", form("email_address", "new@example.com", "password", suPass)), 422, "form_param_value_invalid")
	r = b.post("/v1/client/sign_ups", form("phone_number", "+1 201 555 0123", "password", suPass))
	expect(t, r, 200, "")
	id := r.str("id")
	if !reflect.DeepEqual(r.resp()["unverified_fields"], []any{"phone_number"}) {
		t.Fatalf("create: %s", r.body)
	}
	expect(t, b.post("/v1/client/sign_ups/"+id+"/prepare_verification", form("strategy", "phone_code")), 200, "")
	code := e.sms.code(t, "+12015550123")
	r = b.post("/v1/client/sign_ups/"+id+"/attempt_verification", form("strategy", "phone_code", "code", code))
	expect(t, r, 200, "")
	if r.str("status") != "complete" || r.str("phone_number") != "+12015550123" {
		t.Fatalf("attempt: %s", r.body)
	}
	if n := e.sms.count("+33612345678"); n != 0 {
		t.Fatalf("%d SMS to the refused number", n)
	}
}

func TestSignUpAPIPatch(t *testing.T) {
	e := suEnv(t, signup.Config{Enabled: true, Username: signup.UsernameOptional})
	b := e.browser()
	r := b.post("/v1/client/sign_ups", form("email_address", "first@example.com"))
	id := r.str("id")
	if !reflect.DeepEqual(r.resp()["missing_fields"], []any{"password"}) || !reflect.DeepEqual(r.resp()["optional_fields"], []any{"username"}) {
		t.Fatalf("create: %s", r.body)
	}
	// clerk-js sends PATCH as POST ?_method=PATCH from Safari; either way.
	r = b.do(http.MethodPost, "/__authgate/v1/client/sign_ups/"+id+"?_method=PATCH", form("password", suPass, "username", "Ada", "email_address", "second@example.com"), nil)
	expect(t, r, 200, "")
	if r.str("username") != "ada" || r.str("email_address") != "second@example.com" || r.resp()["has_password"] != true ||
		!reflect.DeepEqual(r.resp()["missing_fields"], []any{}) {
		t.Fatalf("patch: %s", r.body)
	}
	expect(t, e.browser().do(http.MethodPatch, "/__authgate/v1/client/sign_ups/"+id, form("username", "eve"), nil), 404, "resource_not_found")
}

func TestSignUpAPIRequestLimits(t *testing.T) {
	e := suEnv(t, signup.Config{Enabled: true, Limits: signup.Limits{CreatesPerIP: 5, AttemptsPerIP: 3}})
	b := e.browser()
	// Clerk's limits: 5 creates and 3 attempt_verification per 10 s per IP
	// (the store's own clock: no waiting the window out here).
	id := b.post("/v1/client/sign_ups", form("email_address", "new@example.com", "password", suPass)).str("id")
	expect(t, b.post("/v1/client/sign_ups/"+id+"/prepare_verification", form("strategy", "email_code")), 200, "")
	for range 4 {
		expect(t, b.post("/v1/client/sign_ups", form("email_address", "new@example.com", "password", suPass)), 200, "")
	}
	r := b.post("/v1/client/sign_ups", form("email_address", "new@example.com", "password", suPass))
	expect(t, r, 429, "too_many_requests")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	for range 3 {
		expect(t, b.post("/v1/client/sign_ups/"+id+"/attempt_verification", form("strategy", "email_code", "code", "000000")), 422, "form_code_incorrect")
	}
	expect(t, b.post("/v1/client/sign_ups/"+id+"/attempt_verification", form("strategy", "email_code", "code", "000000")), 429, "too_many_requests")
}

// Twenty sign-ups of one address through two authgate instances over one
// Redis, all verified at once: one user; the others get
// form_identifier_exists.
func TestSignUpAPIConcurrentOnTwoInstancesMakesOneUser(t *testing.T) {
	cfg := signup.Config{Enabled: true}
	cfg.Limits.SendsPerIdentifier, cfg.Limits.FailuresPerIdentifier = 100, 100
	e := suEnv(t, cfg, withRedis)
	second := e.instance(t)
	const addr = "race@example.com"
	type started struct {
		b    *browser
		id   string
		code string
	}
	var all []started
	for i := range 20 {
		site := e
		if i%2 == 1 {
			site = second
		}
		b := site.browser()
		r := b.post("/v1/client/sign_ups", form("email_address", addr, "password", suPass))
		expect(t, r, 200, "")
		id := r.str("id")
		expect(t, b.post("/v1/client/sign_ups/"+id+"/prepare_verification", form("strategy", "email_code")), 200, "")
		site.eng.Deliveries.Wait()
		msgs := e.mail.server().WaitForCount(t, addr, i+1, 10*time.Second)
		code, ok := testenv.ExtractCode(msgs[0].Text)
		if !ok {
			t.Fatalf("no code in %q", msgs[0].Text)
		}
		all = append(all, started{b, id, code})
	}
	replies := make([]reply, len(all))
	testenv.Together(len(all), func(i int) {
		s := all[i]
		replies[i] = s.b.post("/v1/client/sign_ups/"+s.id+"/attempt_verification", form("strategy", "email_code", "code", s.code))
	})
	winner := ""
	for _, r := range replies {
		if r.status == 200 {
			if winner != "" || r.str("status") != "complete" {
				t.Fatalf("a second winner: %s", r.body)
			}
			winner = r.str("created_user_id")
			continue
		}
		expect(t, r, 422, "form_identifier_exists")
	}
	u, err := e.eng.Users.Find(context.Background(), users.KindEmail, addr)
	if err != nil || winner == "" || u.ID != winner {
		t.Fatalf("user %v (%v), winner %q", u, err, winner)
	}
}

// instance is a second authgate instance over the same store, mailbox
// and SMS sink: its own services and handlers, its own HTTP server.
func (e *env) instance(t *testing.T) *env {
	t.Helper()
	cfg := e.eng.Config
	eng, err := app.New(cfg, e.st, e.logger)
	noErr(t, err)
	if err := eng.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(eng.Deliveries.Wait)
	o := *e
	o.eng = eng
	o.srv = handlers.New(handlers.Config{
		Prefix: "/__authgate", SignInURL: "/__authgate/sign-in", AfterSignInURL: "/",
		Tasks: tasks.NewRouter("/__authgate", nil),
	}, e.suDeps(eng))
	o.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o.srv.InPrefix(r) {
			o.srv.ServeBuiltin(w, r)
			return
		}
		if v := o.srv.Gate(w, r); v.Pass {
			_, _ = w.Write([]byte("upstream"))
		}
	}))
	t.Cleanup(o.http.Close)
	return &o
}

func TestSignUpAPIEnvironment(t *testing.T) {
	env := func(e *env) map[string]any {
		t.Helper()
		r := e.browser().get("/__authgate/v1/environment", nil)
		if r.status != 200 {
			t.Fatalf("environment: %d", r.status)
		}
		return r.json
	}
	off := env(newEnv(t))
	if su := off["user_settings"].(map[string]any)["sign_up"].(map[string]any); su["mode"] != "restricted" {
		t.Fatalf("off: sign_up %v", su)
	}
	if email := off["user_settings"].(map[string]any)["attributes"].(map[string]any)["email_address"].(map[string]any); email["verify_at_sign_up"] != false {
		t.Fatalf("off: email %v", email)
	}
	on := env(suEnv(t, signup.Config{Enabled: true, Identifiers: []users.Kind{users.KindEmail, users.KindPhone}}))
	us := on["user_settings"].(map[string]any)
	attrs := us["attributes"].(map[string]any)
	if us["sign_up"].(map[string]any)["mode"] != "public" || on["display_config"].(map[string]any)["sign_up_url"] != "/__authgate/sign-up" ||
		attrs["email_address"].(map[string]any)["verify_at_sign_up"] != true ||
		attrs["phone_number"].(map[string]any)["verify_at_sign_up"] != false { // no phone_countries: no phone sign-up
		t.Fatalf("on: %v / %v", us["sign_up"], attrs)
	}
}
