package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSignedOutSessionCannotBeRevivedThroughTheSignInAttempt(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	b := e.browser()
	r := b.signIn("alice@example.com", alicePW)
	id := r.str("id")
	expect(t, b.do(http.MethodDelete, "/__authgate/v1/client", nil, nil), 200, "")
	e.clock.Advance(2 * time.Minute) // past the token lifetime
	r = b.get("/__authgate/v1/client/sign_ins/"+id, nil)
	if strings.Contains(r.header.Get("Set-Cookie"), "__session=ey") {
		t.Fatal("reading a completed sign-in minted a token")
	}
	expect(t, b.get("/api/data", nil), 401, "authentication_invalid")
}

func TestConcurrentWrongCodesCompareAtMostMaxAttempts(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	b := e.browser()
	id, code := b.startReset("alice@example.com")
	wrong := otherCode(code)
	var wg sync.WaitGroup
	var mu sync.Mutex
	incorrect := 0
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", wrong))
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
	expect(t, b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", code)), 400, "verification_failed")
	// A dead attempt sends nothing more.
	expect(t, b.post("/v1/client/sign_ins/"+id+"/prepare_first_factor", form("strategy", "reset_password_email_code")), 400, "verification_failed")
}

func TestKnownAndUnknownIdentifiersAnswerAlike(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "+15555550100", alicePW)
	start := func(ident string) reply {
		return e.browser().post("/v1/client/sign_ins", form("identifier", ident))
	}
	shape := func(r reply) string {
		var parts []string
		for _, f := range r.resp()["supported_first_factors"].([]any) {
			f := f.(map[string]any)
			parts = append(parts, f["strategy"].(string))
		}
		return strings.Join(parts, ",")
	}
	known1, known2 := start("alice@example.com"), start("alice@example.com")
	ghost1, ghost2 := start("ghost@example.com"), start("ghost@example.com")
	if shape(known1) != shape(ghost1) {
		t.Fatalf("factors differ: %s vs %s", shape(known1), shape(ghost1))
	}
	idOf := func(r reply) any {
		return r.resp()["supported_first_factors"].([]any)[1].(map[string]any)["email_address_id"]
	}
	if idOf(known1) != idOf(known2) || idOf(ghost1) != idOf(ghost2) {
		t.Fatal("identification ids are not stable across attempts")
	}
	// A phone code for an email sign-in: refused alike.
	kb, gb := e.browser(), e.browser()
	kr := kb.post("/v1/client/sign_ins", form("identifier", "alice@example.com"))
	gr := gb.post("/v1/client/sign_ins", form("identifier", "ghost@example.com"))
	k := kb.post("/v1/client/sign_ins/"+kr.str("id")+"/prepare_first_factor", form("strategy", "phone_code"))
	g := gb.post("/v1/client/sign_ins/"+gr.str("id")+"/prepare_first_factor", form("strategy", "phone_code"))
	if k.status != g.status || k.errCode() != g.errCode() {
		t.Fatalf("phone code on an email sign-in: known %d %s, unknown %d %s", k.status, k.errCode(), g.status, g.errCode())
	}
	// A weak new password with a wrong code: the same answer.
	for _, ident := range []string{"alice@example.com", "ghost@example.com"} {
		b := e.browser()
		r := b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", ident))
		expect(t, b.post("/v1/client/sign_ins/"+r.str("id")+"/attempt_first_factor",
			form("strategy", "reset_password_email_code", "code", "000000", "password", "a")), 422, "form_password_length_too_short")
	}
}

func TestLockedOutUserCanStillResetAndThatUnlocks(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	for i := 0; i < 10; i++ {
		e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", "wrong-password-x"))
	}
	expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", alicePW)), 403, "user_locked")
	b := e.browser()
	r := b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
	expect(t, r, 200, "")
	code := e.mail.LatestCode(t, "alice@example.com")
	expect(t, b.post("/v1/client/sign_ins/"+r.str("id")+"/attempt_first_factor",
		form("strategy", "reset_password_email_code", "code", code, "password", "unlocked-new-passphrase")), 200, "")
	e.browser().signIn("alice@example.com", "unlocked-new-passphrase")
}

func TestPublicPathsCannotBeReachedThroughEncodedTricks(t *testing.T) {
	e := newEnv(t, func(o *envOpt) { o.public = []string{"/assets/*", "/healthz"} })
	b := e.browser()
	if r := b.get("/assets/app.css", nil); r.status != 200 {
		t.Fatalf("public path: %d", r.status)
	}
	for _, p := range []string{"/admin/..%2Fassets/x", "/assets/../admin", "/assets/..%2f..%2fadmin", "/admin%5c..%5cassets/x", "//assets/x", "/assets/./../admin"} {
		req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/", nil)
		req.URL.RawPath, req.URL.Path = "", ""
		req.URL.Opaque = p // send the path exactly as written
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Errorf("%s passed the gate without a session", p)
		}
	}
}

func TestTokenOfOneOriginIsNotAcceptedAtAnother(t *testing.T) {
	e := newEnv(t)
	e.createUser("alice@example.com", "", alicePW)
	b := e.browser()
	r := b.signIn("alice@example.com", alicePW)
	sid := r.str("created_session_id")
	tok := b.post("/v1/client/sessions/"+sid+"/tokens", nil)
	jwt, _ := tok.json["jwt"].(string)
	if jwt == "" {
		t.Fatalf("no token: %s", tok.body)
	}
	bearer := map[string]string{"Authorization": "Bearer " + jwt}
	anon := e.browser()
	if got := anon.get("/api", bearer); got.status != 200 {
		t.Fatalf("bearer at its own origin: %d", got.status)
	}
	other := map[string]string{"Authorization": "Bearer " + jwt, "Host": "other.example"}
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+"/api", nil)
	for k, v := range other {
		req.Header.Set(k, v)
	}
	req.Host = "other.example"
	res, err := anon.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("token accepted for another issuer: %d", res.StatusCode)
	}
}

func TestCompromiseTurnsLiveSessionsPending(t *testing.T) {
	e := newEnv(t)
	u := e.createUser("alice@example.com", "", alicePW)
	b := e.browser()
	b.signIn("alice@example.com", alicePW)
	if b.get("/x", nil).status != 200 {
		t.Fatal("not signed in")
	}
	if _, err := e.eng.Sessions.RequireTask(context.Background(), u.ID, "reset-password"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute) // the active token expires; the refresh sees the task
	expect(t, b.get("/x", nil), 403, "session_task_pending")
}
