package caddymodule

// The test server harness of the whole-server tests (integration_test.go,
// admin_test.go): a real Caddy loaded from a Caddyfile, an httptest
// upstream and admin API helpers (the browser-like client is in
// browser_test.go).

import (
	"fmt"
	"io"
	"net"
	"net/http"
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

// testAdminAddr is the admin endpoint of the test servers: a free port
// picked once per test binary, not a fixed one, so that two runs of
// these tests on one machine (a CI job beside a developer's run) do not
// drive each other's Caddy.
var (
	testAdminAddr = freeLoopbackAddr()
	testAdminURL  = "http://" + testAdminAddr + "/authgate/v1"
)

// testPassword passes the default password rules and breach list.
const testPassword = "quartz-Lantern-91-meadow"

// freeLoopbackAddr is a loopback address with a port the kernel just
// handed out (and that nothing listens on yet).
func freeLoopbackAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

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

// forEachServer runs f as a subtest per storage backend, with a server
// of the default site on it.
func forEachServer(t *testing.T, f func(t *testing.T, s *server)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, startServer(t, siteOpts{storage: b.storage(t)})) })
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
	global        string // more lines for the authgate global option
	public        string // more public path patterns of the site
	email         string // arguments (and block) of the `email` option; "" = log
}

// testCaddyfile is the Caddyfile of the test server: authgate in the
// global options (with the given storage) and one site with the gate in
// front of a reverse proxy to the upstream.
func testCaddyfile(o siteOpts, port int, upstreamAddr string) string {
	extra := ""
	if o.tokenLifetime != "" {
		extra = "\n\t\ttoken_lifetime " + o.tokenLifetime
	}
	if o.global != "" {
		extra += "\n\t\t" + o.global
	}
	if o.public != "" {
		o.public = " " + o.public
	}
	if o.email == "" {
		o.email = "log"
	}
	return fmt.Sprintf(`{
	admin %s
	persist_config off
	log {
		level ERROR
	}
	authgate {
		storage %s%s
		email %s
		sms log
	}
}

http://127.0.0.1:%d {
	bind 127.0.0.1
	authgate {
		public /healthz%s
	}
	reverse_proxy %s {
		header_up X-Who {http.auth.user.id}
		header_up X-Who-Email {http.auth.user.email}
	}
}
`, testAdminAddr, o.storage, extra, o.email, port, o.public, upstreamAddr)
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
	_, port, err := net.SplitHostPort(freeLoopbackAddr())
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// apiResult is a decoded HTTP answer.
type apiResult struct {
	status int
	header http.Header
	body   []byte
}

// errCode returns the first error code of a Clerk error envelope.
func (r apiResult) errCode() string { return testenv.ErrorCode(r.body) }

func (r apiResult) decode(t *testing.T, v any) { testenv.DecodeJSON(t, r.body, v) }

// response decodes the "response" member of a Frontend API answer (the
// envelope Clerk's answers come in) into a T.
func response[T any](t *testing.T, r apiResult) T {
	t.Helper()
	var env struct {
		Response T `json:"response"`
	}
	r.decode(t, &env)
	return env.Response
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
	req, err := testenv.JSONRequest(method, testAdminURL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	return do(t, plainClient, req)
}

// userJSON is the admin API's user object.
type userJSON = testenv.AdminUser

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
	return adminList[userJSON](t, "/users", url.Values{"email_address": {email}})
}

// sessionJSON is the admin API's session object.
type sessionJSON struct {
	Object string `json:"object"`
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Status string `json:"status"`
}

// listSessions returns GET /sessions?user_id=userID.
func listSessions(t *testing.T, userID string) []sessionJSON {
	t.Helper()
	return adminList[sessionJSON](t, "/sessions", url.Values{"user_id": {userID}})
}

// adminList returns the list an admin API GET of path?query answers.
func adminList[T any](t *testing.T, path string, query url.Values) []T {
	t.Helper()
	r := adminJSON(t, http.MethodGet, path+"?"+query.Encode(), nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s?%s: %d %s", path, query.Encode(), r.status, r.body)
	}
	var out []T
	r.decode(t, &out)
	return out
}

// awaitUnauthorized repeats a GET of path while it answers 503 (the store
// is coming back) until it answers 401 authentication_invalid; anything
// else, or still 503 after 10 s, fails the test.
func (s *server) awaitUnauthorized(when, path string, hdr ...string) {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := get(s.t, plainClient, s.base+path, hdr...)
		if r.status == http.StatusUnauthorized && r.errCode() == "authentication_invalid" {
			return
		}
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			s.t.Fatalf("%s: want 401, got %d %s", when, r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
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
