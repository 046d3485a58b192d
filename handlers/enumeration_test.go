package handlers_test

import (
	"bytes"
	"strings"
	"testing"
)

// Enumeration protection: known and unknown identifiers get the same
// answers and nothing is sent to unknown ones; without it, errors say what
// is wrong.

// knownAndUnknown starts a sign-in with the form fields kv from a fresh
// browser, once for alice and once for an address no account has.
func knownAndUnknown(e *env, kv ...string) (known, unknown reply) {
	start := func(ident string) reply {
		return e.browser().post("/v1/client/sign_ins", form(append(kv, "identifier", ident)...))
	}
	return start("alice@example.com"), start("nobody@example.com")
}

func TestUnknownUserAndWrongPasswordGiveTheSameAnswer(t *testing.T) {
	e, _ := aliceEnv(t)
	wrong, unknown := knownAndUnknown(e, "password", "not-the-password")
	expect(t, wrong, 422, "form_password_or_identifier_incorrect")
	if unknown.status != wrong.status || !bytes.Equal(unknown.body, wrong.body) {
		t.Fatalf("answers differ:\n%s\n%s", wrong.body, unknown.body)
	}
}

func TestWithoutEnumerationProtectionErrorsSayWhatIsWrong(t *testing.T) {
	e, _ := aliceEnv(t, noEnumeration)
	expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", "nope-nope-nope")), 422, "form_password_incorrect")
	expect(t, e.browser().post("/v1/client/sign_ins", form("identifier", "bob@example.com", "password", "nope-nope-nope")), 422, "form_identifier_not_found")
	expect(t, e.browser().post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "bob@example.com")), 422, "form_identifier_not_found")
}

func TestUnknownIdentifierLooksLikeAKnownOneAndSendsNothing(t *testing.T) {
	e, _ := aliceEnv(t)
	known, unknown := knownAndUnknown(e, "strategy", "reset_password_email_code")
	expect(t, unknown, 200, "")
	if known.status != unknown.status || unknown.str("status") != known.str("status") ||
		len(unknown.resp()["supported_first_factors"].([]any)) != len(known.resp()["supported_first_factors"].([]any)) {
		t.Fatalf("shapes differ:\n%s\n%s", known.body, unknown.body)
	}
	e.mail.LatestCode(t, "alice@example.com")
	e.eng.Deliveries.Wait()
	if n := e.mail.Count(t, "nobody@example.com"); n != 0 {
		t.Fatalf("%d mails sent to an unknown address", n)
	}
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
