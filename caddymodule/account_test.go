package caddymodule

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// apiPost posts a form to the JSON API with the browser's cookies.
func apiPost(t *testing.T, b *browser, base, path string, form url.Values) apiResult {
	t.Helper()
	req := newRequest(t, http.MethodPost, base+"/__authgate/v1"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	return do(t, b.c, req)
}

func signInID(t *testing.T, r apiResult) string {
	t.Helper()
	out := response[struct {
		ID string `json:"id"`
	}](t, r)
	if out.ID == "" {
		t.Fatalf("no sign-in id in %s", r.body)
	}
	return out.ID
}

// TestIntegrationCodeBudgetPerAccount: wrong codes over 5 attempts and
// both reset channels count toward one budget; past 10 the account's
// code verification answers 429 with Retry-After, whatever the attempt.
func TestIntegrationCodeBudgetPerAccount(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + t.TempDir() + "/authgate.db"})
	if r := adminJSON(t, http.MethodPost, "/users", map[string]any{
		"email_address": []string{"budget@example.com"}, "phone_number": []string{"+15555550123"}, "password": testPassword,
	}); r.status != http.StatusOK {
		t.Fatalf("create user: %d %s", r.status, r.body)
	}
	wrong := 0
	for attempt := 0; attempt < 5; attempt++ {
		b := newBrowser(t) // a new client each time: new attempts, new send limits
		strategy, ident := "reset_password_email_code", "budget@example.com"
		if attempt%2 == 1 {
			strategy, ident = "reset_password_phone_code", "+15555550123"
		}
		r := apiPost(t, b, s.base, "/client/sign_ins", url.Values{"strategy": {strategy}, "identifier": {ident}})
		if r.status != http.StatusOK {
			t.Fatalf("attempt %d create: %d %s", attempt, r.status, r.body)
		}
		id := signInID(t, r)
		for try := 0; try < 5; try++ {
			r := apiPost(t, b, s.base, "/client/sign_ins/"+id+"/attempt_first_factor", url.Values{"strategy": {strategy}, "code": {"000000"}})
			if wrong >= 10 {
				ra, _ := strconv.Atoi(r.header.Get("Retry-After"))
				if r.status != http.StatusTooManyRequests || r.errCode() != "too_many_requests" || ra <= 0 {
					t.Fatalf("wrong code #%d after the budget: %d (Retry-After %q) %s", wrong+1, r.status, r.header.Get("Retry-After"), r.body)
				}
				continue
			}
			if r.status >= 500 || r.status == http.StatusOK {
				t.Fatalf("wrong code #%d: %d %s", wrong+1, r.status, r.body)
			}
			if r.status == http.StatusTooManyRequests {
				if wrong != 9 {
					t.Fatalf("429 after %d wrong codes, want after 10", wrong+1)
				}
			}
			wrong++
		}
	}
	if wrong < 10 {
		t.Fatalf("only %d wrong codes were counted", wrong)
	}
}

// TestIntegrationLockoutLooksTheSame: 11 wrong passwords for a known and
// an unknown identifier give the same statuses and bodies.
func TestIntegrationLockoutLooksTheSame(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + t.TempDir() + "/authgate.db"})
	createUser(t, "known@example.com")
	start := time.Now()
	answers := func(ident string) []string {
		b := newBrowser(t)
		var out []string
		for i := 0; i < 11; i++ {
			r := apiPost(t, b, s.base, "/client/sign_ins", url.Values{"strategy": {"password"}, "identifier": {ident}, "password": {"not-the-password-1"}})
			out = append(out, strconv.Itoa(r.status)+" "+lockLeft(t, r.header.Get("Retry-After"), string(r.body), time.Since(start)))
		}
		return out
	}
	known, unknown := answers("known@example.com"), answers("nobody@example.com")
	for i := range known {
		if known[i] != unknown[i] {
			t.Fatalf("wrong password #%d: known %q, unknown %q", i+1, known[i], unknown[i])
		}
	}
	if !strings.HasPrefix(known[10], "403") || !strings.Contains(known[10], "user_locked") {
		t.Fatalf("11th wrong password: %q, want 403 user_locked", known[10])
	}
}

// lockLeft returns a lockout answer with the time left taken out: the
// answers of two accounts locked a moment apart differ by that moment
// (one second more on a slow machine), which tells nothing. It checks
// instead that the seconds in the body and its message agree, and that
// they are within elapsed of the hour.
func lockLeft(t *testing.T, retryAfter, body string, elapsed time.Duration) string {
	t.Helper()
	m := lockSecs.FindStringSubmatch(body)
	if m == nil {
		return retryAfter + " " + body
	}
	secs, _ := strconv.Atoi(m[1])
	left := time.Duration(secs) * time.Second
	if !strings.Contains(body, "try again in "+left.String()+".") {
		t.Fatalf("lockout answer %s: the message and the seconds disagree", body)
	}
	if left > time.Hour || left < time.Hour-elapsed-time.Second {
		t.Fatalf("lockout answer: %s left, want within %s of 1h", left, elapsed)
	}
	body = lockSecs.ReplaceAllString(body, `"lockout_expires_in_seconds":N`)
	return retryAfter + " " + strings.ReplaceAll(body, "try again in "+left.String()+".", "try again in N.")
}

var lockSecs = regexp.MustCompile(`"lockout_expires_in_seconds":(\d+)`)

// TestIntegrationKnownDeviceSignsInWhileLocked: a browser that signed in
// before keeps its own budget: a stranger's lockout does not stop it.
func TestIntegrationKnownDeviceSignsInWhileLocked(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + t.TempDir() + "/authgate.db"})
	_, owner, _ := s.newSignedIn("owner@example.com")
	// Sign out, keeping the browser (its client) as a known device.
	if r := do(t, owner.c, func() *http.Request {
		req := newRequest(t, http.MethodDelete, s.base+"/__authgate/v1/client/sessions", nil)
		req.Header.Set("Origin", s.base)
		return req
	}()); r.status != http.StatusOK {
		t.Fatalf("sign out: %d %s", r.status, r.body)
	}
	stranger := newBrowser(t)
	var last apiResult
	for i := 0; i < 11; i++ {
		last = apiPost(t, stranger, s.base, "/client/sign_ins", url.Values{"strategy": {"password"}, "identifier": {"owner@example.com"}, "password": {"guess-guess-" + strconv.Itoa(i)}})
	}
	if last.status != http.StatusForbidden || last.errCode() != "user_locked" {
		t.Fatalf("stranger after 11 wrong passwords: %d %s", last.status, last.body)
	}
	if r := do(t, stranger.c, signInRequest(t, s.base, "owner@example.com", s.base)); r.status != http.StatusForbidden {
		t.Fatalf("stranger with the right password while locked: %d %s, want 403", r.status, r.body)
	}
	owner.signIn(t, s.base, "owner@example.com") // fails the test unless complete
}
