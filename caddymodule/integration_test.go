package caddymodule

// Whole-server tests: a real Caddy (loaded in-process from a Caddyfile
// through the caddyfile adapter, as `caddy run` does) with authgate in
// front of an httptest upstream, its admin API on localhost:2999, and
// both storage backends (a bbolt file and a real redis-server).
//
// Caddy's running config is process-global, so these tests never run in
// parallel. They do not use caddytest: its in-process server cannot be
// stopped and started again, which the persistence tests need.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/authgate/authgate/internal/testenv"
)

const (
	// testAdminAddr is the admin endpoint of the test server (Caddy's
	// own integration tests use the same port).
	testAdminAddr = "localhost:2999"
	testAdminURL  = "http://" + testAdminAddr + "/authgate/v1"
	// testPassword passes the default password rules and breach list.
	testPassword = "quartz-Lantern-91-meadow"
)

// backend is one storage configuration the [both] tests run against.
type backend struct {
	name    string
	storage func(t *testing.T) string // the `storage ...` line's arguments
}

func backends() []backend {
	return []backend{
		{"file", func(t *testing.T) string { return "file " + filepath.Join(t.TempDir(), "authgate.db") }},
		{"redis", func(t *testing.T) string { return "redis " + testenv.Redis(t).URL() }},
	}
}

// forEachBackend runs f as a subtest per storage backend.
func forEachBackend(t *testing.T, f func(t *testing.T, storage string)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.storage(t)) })
	}
}

// upstream is an httptest server standing in for the protected app: it
// records the request headers of every request it gets.
type upstream struct {
	srv  *httptest.Server
	hits atomic.Int64
	mu   sync.Mutex
	reqs []upstreamReq
}

type upstreamReq struct {
	path   string
	header http.Header
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		u.mu.Lock()
		u.reqs = append(u.reqs, upstreamReq{path: r.URL.Path, header: r.Header.Clone()})
		u.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "upstream ok "+r.URL.Path)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// last returns the headers of the most recent request for path.
func (u *upstream) last(t *testing.T, path string) http.Header {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	for i := len(u.reqs) - 1; i >= 0; i-- {
		if u.reqs[i].path == path {
			return u.reqs[i].header
		}
	}
	t.Fatalf("upstream never got a request for %s", path)
	return nil
}

// server is a running test Caddy.
type server struct {
	t        *testing.T
	cfgJSON  []byte
	base     string // http://127.0.0.1:port of the site
	upstream *upstream
}

// siteOpts are the knobs of the test Caddyfile.
type siteOpts struct {
	storage       string // arguments of the `storage` option
	tokenLifetime string // "" = default
}

// testCaddyfile is the Caddyfile of the test server: authgate in the
// global options (with the given storage) and one site with the gate in
// front of a reverse proxy to the upstream.
func testCaddyfile(o siteOpts, port int, upstreamAddr string) string {
	extra := ""
	if o.tokenLifetime != "" {
		extra = "\n\t\ttoken_lifetime " + o.tokenLifetime
	}
	return fmt.Sprintf(`{
	admin %s
	persist_config off
	log {
		level ERROR
	}
	authgate {
		storage %s%s
		email log
		sms log
	}
}

http://127.0.0.1:%d {
	bind 127.0.0.1
	authgate {
		public /healthz
	}
	reverse_proxy %s {
		header_up X-Who {http.auth.user.id}
		header_up X-Who-Email {http.auth.user.email}
	}
}
`, testAdminAddr, o.storage, extra, port, upstreamAddr)
}

// startServer adapts the test Caddyfile and loads it, like `caddy run
// --config Caddyfile` does. Caddy is stopped when the test ends.
func startServer(t *testing.T, o siteOpts) *server {
	t.Helper()
	// Keep Caddy's own files (instance id, autosave) out of $HOME.
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	up := newUpstream(t)
	port := freeTCPPort(t)
	cf := testCaddyfile(o, port, up.srv.Listener.Addr().String())
	cfgJSON, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatalf("adapt test Caddyfile: %v\n%s", err, cf)
	}
	for _, w := range warnings {
		t.Logf("caddyfile warning: %s", w.String())
	}
	s := &server{t: t, cfgJSON: cfgJSON, base: "http://127.0.0.1:" + strconv.Itoa(port), upstream: up}
	t.Cleanup(func() { _ = caddy.Stop() })
	s.start()
	return s
}

// start loads the config (again).
func (s *server) start() {
	s.t.Helper()
	if err := caddy.Load(s.cfgJSON, true); err != nil {
		s.t.Fatalf("load caddy config: %v", err)
	}
	s.waitReady()
}

// stop stops every app of the running config (the admin endpoint stays
// up, as after `caddy stop` it would be gone; the next start replaces it).
func (s *server) stop() {
	s.t.Helper()
	if err := caddy.Stop(); err != nil {
		s.t.Fatalf("stop caddy: %v", err)
	}
}

// restart stops Caddy and starts it again with the same config.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	// The site's port must be free again: nothing is listening.
	if c, err := net.DialTimeout("tcp", strings.TrimPrefix(s.base, "http://"), time.Second); err == nil {
		_ = c.Close()
		s.t.Fatalf("the site still accepts connections after caddy.Stop")
	}
	s.start()
}

// waitReady waits until the site answers (the public path).
func (s *server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.base + "/healthz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("site %s not answering: %v", s.base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatalf("release free port: %v", err)
	}
	return port
}

// apiResult is a decoded HTTP answer.
type apiResult struct {
	status int
	header http.Header
	body   []byte
}

// errCode returns the first error code of a Clerk error envelope.
func (r apiResult) errCode() string {
	var env struct {
		Errors []struct {
			Code string `json:"code"`
			Meta struct {
				ParamName string `json:"param_name"`
			} `json:"meta"`
		} `json:"errors"`
	}
	if json.Unmarshal(r.body, &env) != nil || len(env.Errors) == 0 {
		return ""
	}
	return env.Errors[0].Code
}

func (r apiResult) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

var plainClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// do sends a request and reads the whole answer.
func do(t *testing.T, c *http.Client, req *http.Request) apiResult {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return apiResult{status: resp.StatusCode, header: resp.Header, body: body}
}

func newRequest(t *testing.T, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, u, err)
	}
	return req
}

// adminJSON calls the admin API with a JSON body (nil: none).
func adminJSON(t *testing.T, method, path string, body any) apiResult {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode admin body: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req := newRequest(t, method, testAdminURL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, plainClient, req)
}

// userJSON is the admin API's user object (DESIGN.md §8).
type userJSON struct {
	ID             string `json:"id"`
	EmailAddresses []struct {
		ID           string `json:"id"`
		EmailAddress string `json:"email_address"`
	} `json:"email_addresses"`
	PasswordEnabled     bool  `json:"password_enabled"`
	PasswordCompromised bool  `json:"password_compromised"`
	CreatedAt           int64 `json:"created_at"`
}

// createUser creates a user with an email and the test password.
func createUser(t *testing.T, email string) userJSON {
	t.Helper()
	r := adminJSON(t, http.MethodPost, "/users", map[string]any{"email_address": []string{email}, "password": testPassword})
	if r.status != http.StatusOK {
		t.Fatalf("create user %s: %d %s", email, r.status, r.body)
	}
	var u userJSON
	r.decode(t, &u)
	if !strings.HasPrefix(u.ID, "user_") {
		t.Fatalf("user id %q does not start with user_", u.ID)
	}
	return u
}

// findUsers returns GET /users?email_address=email.
func findUsers(t *testing.T, email string) []userJSON {
	t.Helper()
	r := adminJSON(t, http.MethodGet, "/users?"+url.Values{"email_address": {email}}.Encode(), nil)
	if r.status != http.StatusOK {
		t.Fatalf("find user %s: %d %s", email, r.status, r.body)
	}
	var found []userJSON
	r.decode(t, &found)
	return found
}

// browser is a client with a cookie jar, like a browser tab.
type browser struct {
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatalf("cookie jar: %v", err)
	}
	return &browser{c: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// cookie returns the value of a cookie the browser holds for base.
func (b *browser) cookie(t *testing.T, base, name string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signIn signs in through the JSON API with identifier and password and
// returns the created session id; the browser keeps the cookies.
func (b *browser) signIn(t *testing.T, base, email string) string {
	t.Helper()
	form := url.Values{"strategy": {"password"}, "identifier": {email}, "password": {testPassword}}
	req := newRequest(t, http.MethodPost, base+"/__authgate/v1/client/sign_ins", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Accept", "application/json")
	r := do(t, b.c, req)
	if r.status != http.StatusOK {
		t.Fatalf("sign in %s: %d %s", email, r.status, r.body)
	}
	var out struct {
		Response struct {
			Status           string `json:"status"`
			CreatedSessionID string `json:"created_session_id"`
		} `json:"response"`
	}
	r.decode(t, &out)
	if out.Response.Status != "complete" || out.Response.CreatedSessionID == "" {
		t.Fatalf("sign in %s: want status complete with a session, got %s", email, r.body)
	}
	if b.cookie(t, base, "__session") == "" || b.cookie(t, base, "__client") == "" {
		t.Fatalf("sign in %s: __session and __client cookies not set", email)
	}
	return out.Response.CreatedSessionID
}

// get sends a GET with extra headers (pairs of name, value).
func get(t *testing.T, c *http.Client, u string, hdr ...string) apiResult {
	t.Helper()
	req := newRequest(t, http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return do(t, c, req)
}

// TestIntegrationUserPersistsAcrossRestart: a user created through the
// admin API is found after Caddy is stopped and started again.
func TestIntegrationUserPersistsAcrossRestart(t *testing.T) {
	forEachBackend(t, func(t *testing.T, storage string) {
		s := startServer(t, siteOpts{storage: storage})
		u := createUser(t, "persist@example.com")
		if found := findUsers(t, "persist@example.com"); len(found) != 1 || found[0].ID != u.ID {
			t.Fatalf("before restart: want [%s], got %+v", u.ID, found)
		}

		s.restart()

		found := findUsers(t, "Persist@Example.com")
		if len(found) != 1 || found[0].ID != u.ID {
			t.Fatalf("after restart: want [%s], got %+v", u.ID, found)
		}
		if !found[0].PasswordEnabled || len(found[0].EmailAddresses) != 1 ||
			found[0].EmailAddresses[0].EmailAddress != "persist@example.com" || found[0].CreatedAt != u.CreatedAt {
			t.Fatalf("after restart the user changed: before %+v, after %+v", u, found[0])
		}
		// The password survived too: the user can sign in.
		newBrowser(t).signIn(t, s.base, "persist@example.com")
	})
}

// TestIntegrationCreateUserErrors: duplicate identifiers (after
// normalization), bad emails and short passwords are 422s with Clerk's
// codes.
func TestIntegrationCreateUserErrors(t *testing.T) {
	forEachBackend(t, func(t *testing.T, storage string) {
		startServer(t, siteOpts{storage: storage})
		createUser(t, "alice@example.com")

		for _, tc := range []struct {
			name  string
			body  map[string]any
			code  string
			param string
		}{
			{"duplicate", map[string]any{"email_address": []string{" Alice@Example.COM "}, "password": testPassword},
				"form_identifier_exists", "email_address"},
			{"bad email", map[string]any{"email_address": []string{"not-an-email"}, "password": testPassword},
				"form_param_format_invalid", "email_address"},
			{"short password", map[string]any{"email_address": []string{"bob@example.com"}, "password": "x7!"},
				"form_password_length_too_short", "password"},
		} {
			r := adminJSON(t, http.MethodPost, "/users", tc.body)
			if r.status != http.StatusUnprocessableEntity || r.errCode() != tc.code {
				t.Errorf("%s: want 422 %s, got %d %s", tc.name, tc.code, r.status, r.body)
				continue
			}
			var env struct {
				Errors []struct {
					Meta struct {
						ParamName string `json:"param_name"`
					} `json:"meta"`
				} `json:"errors"`
			}
			r.decode(t, &env)
			if got := env.Errors[0].Meta.ParamName; got != tc.param {
				t.Errorf("%s: want meta.param_name %q, got %q", tc.name, tc.param, got)
			}
		}
		if found := findUsers(t, "alice@example.com"); len(found) != 1 {
			t.Fatalf("want exactly one alice, got %+v", found)
		}
		if found := findUsers(t, "bob@example.com"); len(found) != 0 {
			t.Fatalf("a refused create stored a user: %+v", found)
		}
	})
}

// TestIntegrationConcurrentCreate: 20 concurrent creates of one email
// make exactly one user.
func TestIntegrationConcurrentCreate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, storage string) {
		startServer(t, siteOpts{storage: storage})
		const n = 20
		results := createUsersAtOnce(plainClient, n, func(int) string { return "race@example.com" })

		var created []userJSON
		exists := 0
		for i, r := range results {
			switch {
			case r.status == http.StatusOK:
				var u userJSON
				r.decode(t, &u)
				created = append(created, u)
			case r.status == http.StatusUnprocessableEntity && r.errCode() == "form_identifier_exists":
				exists++
			default:
				t.Errorf("request %d: want 200 or 422 form_identifier_exists, got %d %s", i, r.status, r.body)
			}
		}
		if len(created) != 1 || exists != n-1 {
			t.Fatalf("want exactly one 200 and %d × 422, got %d × 200 and %d × 422", n-1, len(created), exists)
		}
		if found := findUsers(t, "race@example.com"); len(found) != 1 || found[0].ID != created[0].ID {
			t.Fatalf("want the one created user %s, found %+v", created[0].ID, found)
		}
	})
}

// TestIntegrationGate: the gate inside Caddy in front of reverse_proxy.
func TestIntegrationGate(t *testing.T) {
	s := startServer(t, siteOpts{storage: "file " + filepath.Join(t.TempDir(), "authgate.db")})
	u := createUser(t, "gate@example.com")
	anon := newBrowser(t)

	t.Run("anonymous navigation redirects to sign-in", func(t *testing.T) {
		before := s.upstream.hits.Load()
		r := get(t, anon.c, s.base+"/dashboard/reports?x=1&y=two", "Accept", "text/html,application/xhtml+xml")
		if r.status != http.StatusSeeOther {
			t.Fatalf("want 303, got %d %s", r.status, r.body)
		}
		loc, err := url.Parse(r.header.Get("Location"))
		if err != nil {
			t.Fatalf("bad Location %q: %v", r.header.Get("Location"), err)
		}
		if loc.Host != "" || loc.Path != "/__authgate/sign-in" {
			t.Fatalf("want Location on /__authgate/sign-in, got %q", r.header.Get("Location"))
		}
		if got := loc.Query().Get("redirect_url"); got != "/dashboard/reports?x=1&y=two" {
			t.Fatalf("want redirect_url=/dashboard/reports?x=1&y=two, got %q", got)
		}
		if s.upstream.hits.Load() != before {
			t.Fatal("an anonymous navigation reached the upstream")
		}
	})

	t.Run("anonymous XHR gets 401 envelope", func(t *testing.T) {
		before := s.upstream.hits.Load()
		r := get(t, anon.c, s.base+"/api/items", "Accept", "application/json")
		if r.status != http.StatusUnauthorized || r.errCode() != "authentication_invalid" {
			t.Fatalf("want 401 authentication_invalid, got %d %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("want a JSON envelope, got Content-Type %q", ct)
		}
		// A POST is never a navigation, whatever it accepts.
		req := newRequest(t, http.MethodPost, s.base+"/", strings.NewReader("a=1"))
		req.Header.Set("Accept", "text/html")
		if r := do(t, anon.c, req); r.status != http.StatusUnauthorized {
			t.Fatalf("anonymous POST: want 401, got %d", r.status)
		}
		if s.upstream.hits.Load() != before {
			t.Fatal("an anonymous request reached the upstream")
		}
	})

	t.Run("public path passes without identity", func(t *testing.T) {
		r := get(t, anon.c, s.base+"/healthz", "X-Authgate-User-Id", "evil", "X-Authgate-Email", "evil@example.com")
		if r.status != http.StatusOK || string(r.body) != "upstream ok /healthz" {
			t.Fatalf("want the upstream's 200, got %d %s", r.status, r.body)
		}
		h := s.upstream.last(t, "/healthz")
		if v := h.Values("X-Authgate-User-Id"); len(v) != 0 {
			t.Fatalf("spoofed X-Authgate-User-Id reached the upstream on a public path: %q", v)
		}
		if v := h.Values("X-Authgate-Email"); len(v) != 0 {
			t.Fatalf("spoofed X-Authgate-Email reached the upstream on a public path: %q", v)
		}
		if v := h.Get("X-Who"); v != "" {
			t.Fatalf("anonymous request had {http.auth.user.id} = %q", v)
		}
	})

	t.Run("signed-in request carries the identity", func(t *testing.T) {
		b := newBrowser(t)
		sid := b.signIn(t, s.base, "gate@example.com")
		r := get(t, b.c, s.base+"/app/page", "Accept", "text/html",
			"X-Authgate-User-Id", "evil", "X-Authgate-Session-Id", "evil", "x-authgate-email", "evil@example.com")
		if r.status != http.StatusOK || string(r.body) != "upstream ok /app/page" {
			t.Fatalf("want the upstream's 200, got %d %s", r.status, r.body)
		}
		h := s.upstream.last(t, "/app/page")
		for name, want := range map[string]string{
			"X-Authgate-User-Id":    u.ID,
			"X-Authgate-Session-Id": sid,
			"X-Authgate-Email":      "gate@example.com",
			"X-Who":                 u.ID,
			"X-Who-Email":           "gate@example.com",
		} {
			if got := h.Values(name); len(got) != 1 || got[0] != want {
				t.Errorf("upstream got %s = %q, want exactly [%q]", name, got, want)
			}
		}

		// The same session as a bearer token, without cookies.
		tok := b.cookie(t, s.base, "__session")
		r = get(t, plainClient, s.base+"/api/bearer", "Authorization", "Bearer "+tok, "X-Authgate-User-Id", "evil")
		if r.status != http.StatusOK {
			t.Fatalf("bearer token: want 200, got %d %s", r.status, r.body)
		}
		if got := s.upstream.last(t, "/api/bearer").Values("X-Authgate-User-Id"); len(got) != 1 || got[0] != u.ID {
			t.Fatalf("bearer token: upstream got X-Authgate-User-Id %q, want [%q]", got, u.ID)
		}

		// A forged token is anonymous.
		r = get(t, plainClient, s.base+"/api/bearer", "Authorization", "Bearer "+tok[:len(tok)-4]+"AAAA", "Accept", "application/json")
		if r.status != http.StatusUnauthorized || r.errCode() != "authentication_invalid" {
			t.Fatalf("forged token: want 401, got %d %s", r.status, r.body)
		}

		// Only __client (token expired or dropped): refreshed inline.
		r = get(t, plainClient, s.base+"/app/refresh", "Cookie", "__client="+b.cookie(t, s.base, "__client"))
		if r.status != http.StatusOK {
			t.Fatalf("__client only: want 200 after an inline refresh, got %d %s", r.status, r.body)
		}
		if !strings.Contains(strings.Join(r.header.Values("Set-Cookie"), "\n"), "__session=") {
			t.Fatal("__client only: no new __session cookie set")
		}
		if got := s.upstream.last(t, "/app/refresh").Get("X-Authgate-User-Id"); got != u.ID {
			t.Fatalf("__client only: upstream got X-Authgate-User-Id %q, want %q", got, u.ID)
		}
	})

	t.Run("JSON API needs a matching Origin", func(t *testing.T) {
		form := url.Values{"strategy": {"password"}, "identifier": {"gate@example.com"}, "password": {testPassword}}
		req := newRequest(t, http.MethodPost, s.base+"/__authgate/v1/client/sign_ins", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://evil.example")
		r := do(t, newBrowser(t).c, req)
		if r.status != http.StatusBadRequest || r.errCode() != "origin_invalid" {
			t.Fatalf("want 400 origin_invalid, got %d %s", r.status, r.body)
		}
	})
}

// TestIntegrationFailClosed: with redis storage, a request that needs the
// store while redis is down gets 503 with Retry-After and never reaches
// the upstream; once redis is back, the gate works again.
func TestIntegrationFailClosed(t *testing.T) {
	rs := testenv.Redis(t)
	s := startServer(t, siteOpts{storage: "redis " + rs.URL()})
	createUser(t, "down@example.com")
	b := newBrowser(t)
	b.signIn(t, s.base, "down@example.com")
	sessionTok := b.cookie(t, s.base, "__session")
	clientTok := b.cookie(t, s.base, "__client")

	rs.Stop()
	before := s.upstream.hits.Load()

	assert503 := func(name string, r apiResult) {
		t.Helper()
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("%s with redis down: want 503, got %d %s", name, r.status, r.body)
			return
		}
		if ra := r.header.Get("Retry-After"); ra == "" {
			t.Errorf("%s with redis down: 503 without Retry-After", name)
		} else if n, err := strconv.Atoi(ra); err != nil || n <= 0 {
			t.Errorf("%s with redis down: bad Retry-After %q", name, ra)
		}
	}
	// A fresh (never verified, so uncached) session token: its user must
	// be read from the store.
	assert503("new __session", get(t, plainClient, s.base+"/app", "Cookie", "__session="+sessionTok, "Accept", "application/json"))
	// __client only: the session must be refreshed from the store.
	assert503("__client only", get(t, plainClient, s.base+"/app", "Cookie", "__client="+clientTok, "Accept", "text/html"))
	// Both, as a browser sends them.
	assert503("browser cookies", get(t, b.c, s.base+"/app", "Accept", "text/html"))
	// The JSON API needs the store too.
	assert503("sign-in API", func() apiResult {
		form := url.Values{"strategy": {"password"}, "identifier": {"down@example.com"}, "password": {testPassword}}
		req := newRequest(t, http.MethodPost, s.base+"/__authgate/v1/client/sign_ins", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.base)
		return do(t, newBrowser(t).c, req)
	}())
	// Anonymous requests need no store: they are refused as usual (never
	// passed through).
	if r := get(t, plainClient, s.base+"/app", "Accept", "application/json"); r.status != http.StatusUnauthorized && r.status != http.StatusServiceUnavailable {
		t.Errorf("anonymous with redis down: want 401 or 503, got %d %s", r.status, r.body)
	}
	if got := s.upstream.hits.Load(); got != before {
		t.Fatalf("%d request(s) reached the upstream while redis was down", got-before)
	}

	// The redis restart lost every key (no persistence): the old session
	// is gone, and a new user can sign in and get through.
	rs.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := get(t, plainClient, s.base+"/app", "Cookie", "__client="+clientTok, "Accept", "application/json")
		if r.status == http.StatusUnauthorized && r.errCode() == "authentication_invalid" {
			break
		}
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after redis came back: want 401 for a lost session, got %d %s", r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	u := createUser(t, "back@example.com")
	b2 := newBrowser(t)
	b2.signIn(t, s.base, "back@example.com")
	r := get(t, b2.c, s.base+"/app/again", "Accept", "text/html")
	if r.status != http.StatusOK {
		t.Fatalf("after redis came back: want 200, got %d %s", r.status, r.body)
	}
	if got := s.upstream.last(t, "/app/again").Get("X-Authgate-User-Id"); got != u.ID {
		t.Fatalf("after redis came back: upstream got X-Authgate-User-Id %q, want %q", got, u.ID)
	}
}

// TestIntegrationStartWithRedisDown: Caddy starts while redis is down;
// every gated request (anonymous ones too: no signing keys yet) gets 503
// with Retry-After until redis is up.
func TestIntegrationStartWithRedisDown(t *testing.T) {
	rs := testenv.Redis(t)
	rs.Stop()
	s := startServer(t, siteOpts{storage: "redis " + rs.URL()})
	before := s.upstream.hits.Load()
	r := get(t, plainClient, s.base+"/app", "Accept", "application/json")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("redis down at start: want 503 with Retry-After, got %d (Retry-After %q) %s",
			r.status, r.header.Get("Retry-After"), r.body)
	}
	r = get(t, plainClient, s.base+"/app", "Accept", "text/html", "X-Authgate-User-Id", "evil")
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("redis down at start: navigation: want 503, got %d %s", r.status, r.body)
	}
	if got := s.upstream.hits.Load(); got != before {
		t.Fatalf("%d request(s) reached the upstream while redis was down", got-before)
	}

	rs.Start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := get(t, plainClient, s.base+"/app", "Accept", "application/json")
		if r.status == http.StatusUnauthorized && r.errCode() == "authentication_invalid" {
			break
		}
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("after redis came up: want 401, got %d %s", r.status, r.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	u := createUser(t, "late@example.com")
	b := newBrowser(t)
	b.signIn(t, s.base, "late@example.com")
	r = get(t, b.c, s.base+"/app/late", "Accept", "text/html")
	if r.status != http.StatusOK {
		t.Fatalf("after redis came up: want 200, got %d %s", r.status, r.body)
	}
	if got := s.upstream.last(t, "/app/late").Get("X-Authgate-User-Id"); got != u.ID {
		t.Fatalf("upstream got X-Authgate-User-Id %q, want %q", got, u.ID)
	}
}

// TestIntegrationHashingPoolBusy: a burst of creates larger than the
// password hashing pool (workers + queue) is answered with 429
// too_many_requests for the excess (DESIGN.md §7), never with a 5xx.
func TestIntegrationHashingPoolBusy(t *testing.T) {
	startServer(t, siteOpts{storage: "file " + filepath.Join(t.TempDir(), "authgate.db")})
	const n = 200
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	results := createUsersAtOnce(client, n, func(i int) string { return fmt.Sprintf("burst%d@example.com", i) })
	counts := map[int]int{}
	for i, r := range results {
		counts[r.status]++
		switch {
		case r.status == http.StatusOK:
		case r.status == http.StatusTooManyRequests && r.errCode() == "too_many_requests":
		default:
			if counts[r.status] == 1 {
				t.Errorf("request %d: want 200 or 429 too_many_requests, got %d %s", i, r.status, r.body)
			}
		}
	}
	t.Logf("answers by status: %v", counts)
	if counts[http.StatusOK] == 0 {
		t.Fatal("no create succeeded")
	}
}

// createUsersAtOnce sends n user creates through the admin API, released
// together, and returns the answers in order.
func createUsersAtOnce(client *http.Client, n int, emailOf func(i int) string) []apiResult {
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]apiResult, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data, _ := json.Marshal(map[string]any{"email_address": []string{emailOf(i)}, "password": testPassword})
			req, err := http.NewRequest(http.MethodPost, testAdminURL+"/users", bytes.NewReader(data))
			if err != nil {
				results[i] = apiResult{status: -1, body: []byte(err.Error())}
				return
			}
			req.Header.Set("Content-Type", "application/json")
			<-start
			resp, err := client.Do(req)
			if err != nil {
				results[i] = apiResult{status: -1, body: []byte(err.Error())}
				return
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			results[i] = apiResult{status: resp.StatusCode, header: resp.Header, body: body}
		}()
	}
	close(start)
	wg.Wait()
	return results
}
