package handlers_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/internal/testenv"
)

// clerkJSVersion is the @clerk/clerk-js release xcaddy.mk installs from
// testdata/clerkjs/package-lock.json; keep the two in step.
const clerkJSVersion = "6.40.0"

// clerkJSBundle finds clerk-js's browser bundle: $CLERK_JS_BUNDLE, else
// the copy `make -f xcaddy.mk test` installs under .cache/clerkjs. A
// missing bundle fails the test (never skips it).
func clerkJSBundle(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CLERK_JS_BUNDLE")
	if p == "" {
		p = filepath.Join("..", ".cache", "clerkjs", "node_modules", "@clerk", "clerk-js", "dist", "clerk.browser.js")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("clerk-js browser bundle not found (%v): run `make -f xcaddy.mk test`, which installs @clerk/clerk-js@%s "+
			"into .cache/clerkjs and sets CLERK_JS_BUNDLE", err, clerkJSVersion)
	}
	return p
}

// clerkJSPage runs the seed's calls (Clerk's custom flow for resetting a
// user's password) with the real clerk-js. Each step answers a JSON
// string: {"ok": ...} or {"error", "errors"} as the seed's catch reads them.
var clerkJSPage = clerkJSPageOf("clerk-js reset flow", `window.seed = {
  load: function () {
    return report(Clerk.load({proxyUrl: location.origin + '/__authgate'}).then(function () {
      return {loaded: Clerk.loaded, user: Clerk.user ? Clerk.user.id : null,
        email: Clerk.user && Clerk.user.primaryEmailAddress ? Clerk.user.primaryEmailAddress.emailAddress : null};
    }));
  },
  // A fresh session token, as an app sends to its backend.
  token: function () {
    return report(Clerk.session.getToken({skipCache: true}).then(function (jwt) { return {jwt: jwt}; }));
  },
  signOut: function () {
    return report(Clerk.signOut(function () {}).then(function () { return {user: Clerk.user ? Clerk.user.id : null}; }));
  },
  // Send the password reset code to the user's email
  create: function (email) {
    return report(Clerk.client.signIn.create({
      strategy: 'reset_password_email_code',
      identifier: email,
    }).then(function (si) { return {status: si.status}; }));
  },
  // Reset the user's password; on success set the new session active.
  reset: function (code, password) {
    return report(Clerk.client.signIn.attemptFirstFactor({
      strategy: 'reset_password_email_code',
      code: code,
      password: password,
    }).then(function (result) {
      if (result.status !== 'complete') {
        return {status: result.status};
      }
      var navigated = null;
      return Clerk.setActive({
        session: result.createdSessionId,
        navigate: async function ({session}) { navigated = {task: session && session.currentTask ? session.currentTask.key : null}; },
      }).then(function () {
        return {status: result.status, createdSessionId: result.createdSessionId, navigated: navigated,
          user: Clerk.user ? Clerk.user.id : null, session: Clerk.session ? Clerk.session.id : null};
      });
    }));
  },
};
`)

// clerkJSPageOf is a test page titled title that loads the clerk-js
// bundle pointed at the gateway (the template's .Key is the publishable
// key) and defines report(p): a promise to the JSON string {"ok": ...} or
// {"error", "errors"} a step reads. script is the page's own calls.
func clerkJSPageOf(title, script string) *template.Template {
	return template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>` + title + `</title></head>
<body>
<script src="/clerkjs/clerk.browser.js" data-clerk-publishable-key="{{.Key}}" data-clerk-proxy-url="/__authgate"></script>
<script>
function report(p) {
  return p.then(function (v) { return JSON.stringify({ok: v === undefined ? null : v}); }, function (err) {
    return JSON.stringify({
      error: String((err && err.message) || err),
      errors: err && err.errors ? err.errors.map(function (e) { return {code: e.code, longMessage: e.longMessage}; }) : null,
    });
  });
}
` + script + `</script>
</body></html>
`))
}

// TestClerkJSResetPassword runs the seed's client code unchanged in
// headless Chromium with @clerk/clerk-js pointed at the gateway through
// proxyUrl: load, signIn.create with reset_password_email_code, the
// emailed code and a new password in attemptFirstFactor, setActive. The
// browser must then pass the gate, and the new password must sign in.
// It runs with a production key (pk_live_) and a development key
// (pk_test_), with which clerk-js PATCHes the environment at load.
func TestClerkJSResetPassword(t *testing.T) {
	bundle := clerkJSBundle(t)
	for _, kind := range []string{"pk_live_", "pk_test_"} {
		t.Run(strings.TrimSuffix(kind, "_"), func(t *testing.T) { testClerkJSReset(t, bundle, kind) })
	}
}

// clerkJSDevKeyWarning starts the warning clerk-js itself writes when it
// runs with a development key.
const clerkJSDevKeyWarning = "Clerk: Clerk has been loaded with development keys."

func testClerkJSReset(t *testing.T, bundle, keyKind string) {
	e := newEnv(t)
	const addr, oldPW, newPW = "clerkjs@example.com", "old-password-1", "fresh-password-2"
	u := e.createUser(addr, "", oldPW)

	// The key names a Frontend API host; proxyUrl replaces it.
	key := keyKind + base64.StdEncoding.EncodeToString([]byte("clerk.authgate.test$"))
	srv := e.clerkJSSite(t, bundle, key)

	ctx := testenv.Browser(t)
	b := e.tab(ctx)
	b.do("opening the seed page", chromedp.Navigate(srv.URL+"/seed"))
	step := clerkJSStep(t, ctx, b)
	js := func(v string) string { q, _ := json.Marshal(v); return string(q) }

	if got := step("Clerk.load", "seed.load()"); got["loaded"] != true || got["user"] != nil {
		t.Fatalf("after load: %v, want loaded and signed out", got)
	}
	if got := step("signIn.create", "seed.create("+js(addr)+")"); got["status"] != "needs_first_factor" {
		t.Fatalf("signIn.create status %v, want needs_first_factor", got["status"])
	}
	code := e.mail.LatestCode(t, addr)
	// A wrong code fails the way the seed's catch reads it.
	wrong := otherCode(code)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string]("seed.reset("+js(wrong)+", "+js(newPW)+")", chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("attemptFirstFactor with a wrong code: %v", err)
	}
	var failed struct {
		Errors []struct{ Code, LongMessage string }
	}
	if err := json.Unmarshal([]byte(s), &failed); err != nil || len(failed.Errors) == 0 ||
		failed.Errors[0].Code != "form_code_incorrect" || failed.Errors[0].LongMessage == "" {
		t.Fatalf("wrong code: %s (%v), want err.errors[0] form_code_incorrect with a longMessage", s, err)
	}
	got := step("attemptFirstFactor + setActive", "seed.reset("+js(code)+", "+js(newPW)+")")
	if got["status"] != "complete" || got["user"] != u.ID || got["session"] != got["createdSessionId"] || got["session"] == nil {
		t.Fatalf("after reset: %v, want complete and signed in as %s", got, u.ID)
	}
	cleanClerkJSConsole(b)

	// The browser passes the gate to a protected upstream page.
	b.do("opening a protected page", chromedp.Navigate(srv.URL+"/private/page"))
	if txt := b.text("body"); txt != "upstream /private/page" {
		b.fail("protected page says %q, want the upstream page", txt)
	}
	// A reload finds the browser signed in, and the session mints tokens
	// the gate accepts as a Bearer token.
	b.do("reopening the seed page", chromedp.Navigate(srv.URL+"/seed"))
	if got := step("Clerk.load when signed in", "seed.load()"); got["user"] != u.ID || got["email"] != addr {
		t.Fatalf("after reload: %v, want signed in as %s <%s>", got, u.ID, addr)
	}
	jwt, _ := step("session.getToken", "seed.token()")["jwt"].(string)
	if strings.Count(jwt, ".") != 2 {
		t.Fatalf("getToken gave %q, want a JWT", jwt)
	}
	bearerReachesUpstream(t, srv, jwt)
	cleanClerkJSConsole(b)

	// The new password signs in; the old one no longer does.
	e.browser().signIn(addr, newPW)
	r := e.browser().post("/v1/client/sign_ins", form("identifier", addr, "password", oldPW))
	expect(t, r, 422, "form_password_or_identifier_incorrect")

	// Clerk.signOut ends the session: the gate no longer lets the browser in.
	if got := step("Clerk.signOut", "seed.signOut()"); got["user"] != nil {
		t.Fatalf("after signOut: %v, want signed out", got)
	}
	b.do("opening a protected page signed out", chromedp.Navigate(srv.URL+"/private/page"))
	if loc := b.location(); loc.Path != "/__authgate/sign-in" {
		b.fail("signed out, the protected page went to %s, want the sign-in page", loc)
	}
}

// clerkJSSite serves the seed page and the clerk-js bundle in front of
// e's gateway, and logs the API calls the browser made when the test
// fails.
func (e *env) clerkJSSite(t *testing.T, bundle, key string) *httptest.Server {
	return e.clerkJSPageSite(t, bundle, key, "/seed", clerkJSPage)
}

// clerkJSPageSite serves page at path (given the publishable key), the
// clerk-js bundle under /clerkjs/ and, for the rest, e's gateway; it logs
// the API calls the browser made when the test fails.
func (e *env) clerkJSPageSite(t *testing.T, bundle, key, path string, page *template.Template) *httptest.Server {
	var mu sync.Mutex
	var calls []string
	site := http.NewServeMux()
	site.Handle("GET /clerkjs/", http.StripPrefix("/clerkjs/", http.FileServer(http.Dir(filepath.Dir(bundle)))))
	site.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, struct{ Key string }{key})
	})
	gate := e.http.Config.Handler
	site.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		gate.ServeHTTP(rec, r)
		if strings.HasPrefix(r.URL.Path, "/__authgate/") {
			mu.Lock()
			calls = append(calls, fmt.Sprintf("%s %s -> %d", r.Method, r.URL.RequestURI(), rec.status))
			mu.Unlock()
		}
	}))
	srv := httptest.NewServer(site)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			t.Logf("API calls:\n%s", strings.Join(calls, "\n"))
			mu.Unlock()
		}
	})
	return srv
}

// clerkJSStep returns a runner of one step of the seed page's script:
// it awaits expr, which answers {"ok": ...} or an error, and returns ok.
func clerkJSStep(t *testing.T, ctx context.Context, b *tab) func(what, expr string) map[string]any {
	return func(what, expr string) map[string]any {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			b.fail("%s: %v", what, err)
		}
		var out map[string]any
		if err := json.Unmarshal([]byte(s), &out); err != nil {
			t.Fatalf("%s: answer %q: %v", what, s, err)
		}
		if _, ok := out["ok"]; !ok {
			t.Fatalf("%s failed: %s", what, s)
		}
		ok, _ := out["ok"].(map[string]any)
		t.Logf("%s: %s", what, s)
		return ok
	}
}

// bearerReachesUpstream checks that jwt, sent as a Bearer token to the
// same site (the token is bound to its origin), gets through the gate.
func bearerReachesUpstream(t *testing.T, srv *httptest.Server, jwt string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/private/api", nil)
	req.Header.Set("Authorization", "Bearer "+jwt)
	res, err := srv.Client().Do(req)
	noErr(t, err)
	body, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || string(body) != "upstream /private/api" {
		t.Fatalf("the token from getToken: %d %s, want the upstream", res.StatusCode, body)
	}
}

// cleanClerkJSConsole is the tab's cleanConsole, except for the warning
// clerk-js writes about development keys.
func cleanClerkJSConsole(b *tab) {
	b.t.Helper()
	b.mu.Lock()
	kept := b.console[:0]
	for _, m := range b.console {
		if m.Type == chromedp.ConsoleWarning && strings.HasPrefix(m.Text, clerkJSDevKeyWarning) {
			continue
		}
		kept = append(kept, m)
	}
	b.console = kept
	b.mu.Unlock()
	b.cleanConsole()
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
