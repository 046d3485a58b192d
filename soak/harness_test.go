//go:build soak

package soak

// The harness of the soak suites: bin/caddy instances built from one
// Caddyfile template, an upstream that records which requests reached
// it, browser-like clients, admin API helpers and a bounded load
// generator whose every answer is kept and classified.

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
)

// testPassword passes the default password rules and breach list.
const testPassword = "quartz-Lantern-91-meadow"

// reqIDHeader carries a load request's id to the upstream.
const reqIDHeader = "X-Soak-Req"

// upstream stands in for the protected app: it answers 200 "ok" and
// records the id of every load request that reached it, with the user
// id authgate sent.
type upstream struct {
	srv  *httptest.Server
	hits atomic.Int64
	seen sync.Map // request id -> X-Authgate-User-Id
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if id := r.Header.Get(reqIDHeader); id != "" {
			u.seen.Store(id, r.Header.Get("X-Authgate-User-Id"))
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "upstream ok")
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) addr() string { return u.srv.Listener.Addr().String() }

// reached reports whether attempt of the load request id reached the
// upstream, and with which user id.
func (u *upstream) reached(id string, attempt int) (string, bool) {
	return u.seenAs(attemptID(id, attempt))
}

// seenAs reports whether a request with X-Soak-Req: raw reached the
// upstream, and with which user id.
func (u *upstream) seenAs(raw string) (string, bool) {
	v, ok := u.seen.Load(raw)
	if !ok {
		return "", false
	}
	return v.(string), true
}

// reachedAny reports whether any attempt of the load request id reached
// the upstream.
func (u *upstream) reachedAny(id string) bool {
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		if _, ok := u.reached(id, attempt); ok {
			return true
		}
	}
	return false
}

// site is what an instance's Caddyfile says.
type site struct {
	storage       string // arguments of `storage`
	tokenLifetime string // "" = 60s
	encryptionKey string // "" = none
	global        string // more lines in the authgate global option
	plain         bool   // also serve a plain reverse_proxy site (no authgate)
}

// instance is one bin/caddy process with an authgate site (and maybe a
// plain site) in front of the test's upstream.
type instance struct {
	*testenv.CaddyProcess
	name      string
	cfg       site
	up        *upstream
	site      string // http://127.0.0.1:port of the authgate site
	plain     string // http://127.0.0.1:port of the plain site, if any
	admin     string // http://127.0.0.1:port/authgate/v1
	adminAddr string
}

// newInstance prepares an instance (not started).
func newInstance(t *testing.T, name string, up *upstream, cfg site) *instance {
	t.Helper()
	adminAddr := testenv.FreeAddr(t)
	in := &instance{
		name:      name,
		cfg:       cfg,
		up:        up,
		site:      "http://" + testenv.FreeAddr(t),
		admin:     "http://" + adminAddr + "/authgate/v1",
		adminAddr: adminAddr,
	}
	if cfg.plain {
		in.plain = "http://" + testenv.FreeAddr(t)
	}
	in.CaddyProcess = testenv.NewCaddy(t, testenv.CaddyBinary(t), adminAddr, in.site+"/healthz", in.caddyfile())
	return in
}

// startInstance is newInstance then Start.
func startInstance(t *testing.T, name string, up *upstream, cfg site) *instance {
	t.Helper()
	in := newInstance(t, name, up, cfg)
	in.Start()
	return in
}

// caddyfile renders the instance's config.
func (in *instance) caddyfile() string {
	var g strings.Builder
	fmt.Fprintf(&g, "\t\tstorage %s\n", in.cfg.storage)
	if in.cfg.tokenLifetime != "" {
		fmt.Fprintf(&g, "\t\ttoken_lifetime %s\n", in.cfg.tokenLifetime)
	}
	if in.cfg.encryptionKey != "" {
		fmt.Fprintf(&g, "\t\tencryption_key %s\n", in.cfg.encryptionKey)
	}
	g.WriteString("\t\temail log\n\t\tsms log\n")
	if in.cfg.global != "" {
		g.WriteString("\t\t" + in.cfg.global + "\n")
	}
	cf := fmt.Sprintf(`{
	admin %s
	persist_config off
	authgate {
%s	}
}

%s {
	bind 127.0.0.1
	authgate {
		public /healthz
	}
	reverse_proxy %s
}
`, in.adminAddr, g.String(), in.site, in.up.addr())
	if in.plain != "" {
		cf += fmt.Sprintf(`
%s {
	bind 127.0.0.1
	reverse_proxy %s
}
`, in.plain, in.up.addr())
	}
	return cf
}

// newEncryptionKey returns a fresh base64 encryption_key.
func newEncryptionKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// ---- HTTP ----

// transport is shared by every client of a test run; keep-alive on, as
// browsers and load balancers use it.
var transport = &http.Transport{
	Proxy:               nil,
	MaxIdleConns:        256,
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     30 * time.Second,
	DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
}

// noRedirectClient is a client over tr, with jar's cookies (nil: none),
// that hands redirects back instead of following them: the checks read
// each answer as the gate gave it.
func noRedirectClient(tr http.RoundTripper, jar http.CookieJar) *http.Client {
	return &http.Client{
		Transport:     tr,
		Jar:           jar,
		Timeout:       15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var plainClient = noRedirectClient(transport, nil)

// freshClient opens a new connection for every request.
var freshClient = noRedirectClient(&http.Transport{Proxy: nil, DisableKeepAlives: true}, nil)

// reply is one HTTP answer (or the error instead of one).
type reply struct {
	status int
	header http.Header
	body   []byte
	err    error
}

func (r reply) String() string {
	if r.err != nil {
		return "error: " + r.err.Error()
	}
	b := r.body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(b))
}

// errCode is the first code of a Clerk error envelope.
func (r reply) errCode() string { return testenv.ErrorCode(r.body) }

func (r reply) decode(t *testing.T, v any) { testenv.DecodeJSON(t, r.body, v) }

func send(c *http.Client, req *http.Request) reply {
	resp, err := c.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return reply{status: resp.StatusCode, header: resp.Header, err: fmt.Errorf("read body: %w", err)}
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

func newRequest(t testing.TB, method, u string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, u, err)
	}
	return req
}

// get sends a GET with extra headers (name, value pairs).
func get(t testing.TB, c *http.Client, u string, hdr ...string) reply {
	t.Helper()
	req := newRequest(t, http.MethodGet, u, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return send(c, req)
}

// apiPost posts a form to the JSON API of base with the site's Origin.
func apiPost(t testing.TB, c *http.Client, base, path string, form url.Values) reply {
	t.Helper()
	req := newRequest(t, http.MethodPost, base+"/__authgate"+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Accept", "application/json")
	return send(c, req)
}

// ---- admin API ----

func (in *instance) adminDo(method, path string, body any) reply {
	req, err := testenv.JSONRequest(method, in.admin+path, body)
	if err != nil {
		return reply{err: err}
	}
	return send(plainClient, req)
}

// userJSON is the admin API's user object.
type userJSON = testenv.AdminUser

type sessionJSON struct {
	ID     string `json:"id"`
	UserID string `json:"user_id"`
	Status string `json:"status"`
}

// userBody is the admin create body of a user with email (and the test
// password when withPassword).
func userBody(email string, withPassword bool) map[string]any {
	b := map[string]any{"email_address": []string{email}}
	if withPassword {
		b["password"] = testPassword
	}
	return b
}

// createUser creates a user through the instance's admin API.
func (in *instance) createUser(t *testing.T, email string, withPassword bool) userJSON {
	t.Helper()
	r := in.adminDo(http.MethodPost, "/users", userBody(email, withPassword))
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("%s: create user %s: %s", in.name, email, r)
	}
	var u userJSON
	r.decode(t, &u)
	if !strings.HasPrefix(u.ID, "user_") {
		t.Fatalf("%s: user id %q", in.name, u.ID)
	}
	return u
}

// sessions lists the user's sessions through the admin API.
func (in *instance) sessions(t *testing.T, userID string) []sessionJSON {
	t.Helper()
	r := in.adminDo(http.MethodGet, "/sessions?"+url.Values{"user_id": {userID}}.Encode(), nil)
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("%s: list sessions of %s: %s", in.name, userID, r)
	}
	var out []sessionJSON
	r.decode(t, &out)
	return out
}

// jwks returns the site's JWKS body.
func (in *instance) jwks(t *testing.T) []byte {
	t.Helper()
	r := get(t, plainClient, in.site+"/__authgate/.well-known/jwks.json")
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("%s: JWKS: %s", in.name, r)
	}
	return r.body
}

// kids lists the key ids of a JWKS body, sorted.
func kids(t *testing.T, jwks []byte) []string {
	t.Helper()
	var doc struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &doc); err != nil {
		t.Fatalf("decode JWKS %s: %v", jwks, err)
	}
	var out []string
	for _, k := range doc.Keys {
		out = append(out, k.Kid)
	}
	sort.Strings(out)
	return out
}

// ---- browsers ----

// browser is a client with a cookie jar. Cookies are kept per host, not
// per port, so one browser's cookies from instance A are sent to
// instance B as well, as behind a load balancer.
type browser struct {
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t testing.TB) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{jar: jar, c: noRedirectClient(transport, jar)}
}

var loopbackURL, _ = url.Parse("http://127.0.0.1/")

// cookie returns the browser's cookie name for 127.0.0.1.
func (b *browser) cookie(name string) string {
	for _, c := range b.jar.Cookies(loopbackURL) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

type signInJSON struct {
	Response struct {
		ID               string `json:"id"`
		Status           string `json:"status"`
		CreatedSessionID string `json:"created_session_id"`
	} `json:"response"`
}

// signIn signs in with the test password on base and returns the session
// id; the browser keeps __client and __session.
func (b *browser) signIn(t testing.TB, base, email string) string {
	t.Helper()
	sid, r := b.trySignIn(base, email, testPassword)
	if sid == "" {
		t.Fatalf("sign in %s on %s: %s", email, base, r)
	}
	return sid
}

// trySignIn is signIn that reports instead of failing (for workers).
func (b *browser) trySignIn(base, email, password string) (string, reply) {
	form := url.Values{"strategy": {"password"}, "identifier": {email}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, base+"/__authgate/v1/client/sign_ins", strings.NewReader(form.Encode()))
	if err != nil {
		return "", reply{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Accept", "application/json")
	r := send(b.c, req)
	if r.err != nil || r.status != http.StatusOK {
		return "", r
	}
	var out signInJSON
	if json.Unmarshal(r.body, &out) != nil || out.Response.Status != "complete" || b.cookie("__client") == "" {
		return "", r
	}
	return out.Response.CreatedSessionID, r
}

// ---- load ----

// call is one kind of load request.
type call struct {
	kind string
	// needsStore: the answer needs the store (a __client refresh, an
	// uncached token, a sign-in, an admin write): with the store down it
	// must be 503 + Retry-After and must never reach the upstream.
	needsStore bool
	build      func() (*http.Request, error)
}

// result is the outcome of one load request.
type result struct {
	kind       string
	id         string
	needsStore bool
	start, end time.Time
	retried    []string // errors of the attempts resent (loadOpts.resendUnanswered)
	reused     bool     // the last attempt went on a reused keep-alive connection
	reply
}

func (r result) latency() time.Duration { return r.end.Sub(r.start) }

// ok reports a 2xx or 3xx answer.
func (r result) ok() bool { return r.err == nil && r.status >= 200 && r.status < 400 }

// loader runs a bounded number of requests on a few workers.
type loader struct {
	total   int
	next    atomic.Int64
	doneN   atomic.Int64
	mu      sync.Mutex
	results []result
	wg      sync.WaitGroup
	prefix  string
	stopped atomic.Bool
}

var loadSeq atomic.Int64

// loadOpts size a load.
type loadOpts struct {
	workers, total int
	// resendUnanswered resends (up to maxAttempts in all) a request
	// whose connection failed before any byte of an answer came back.
	// During a `caddy reload` that happens to a few connections on any
	// site, authgate or plain (see TestReloadUnderLoad). Each attempt
	// carries its own request id, so the test can check that no failed
	// attempt had reached the upstream.
	resendUnanswered bool
}

// startLoad runs o.total requests on o.workers goroutines; pick(i) says
// what the i-th request is. It returns at once.
func startLoad(o loadOpts, pick func(i int) call) *loader {
	l := &loader{total: o.total, prefix: fmt.Sprintf("L%d-", loadSeq.Add(1))}
	l.results = make([]result, 0, o.total)
	for w := 0; w < o.workers; w++ {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for {
				if l.stopped.Load() {
					return
				}
				i := int(l.next.Add(1)) - 1
				if i >= o.total {
					return
				}
				c := pick(i)
				id := fmt.Sprintf("%s%d", l.prefix, i)
				res := result{kind: c.kind, id: id, needsStore: c.needsStore, start: time.Now()}
				for attempt := 1; ; attempt++ {
					var reused, answered bool
					req, err := c.build()
					if err != nil {
						res.reply = reply{err: err}
						break
					}
					req.Header.Set(reqIDHeader, attemptID(id, attempt))
					req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
						GotConn:              func(info httptrace.GotConnInfo) { reused = info.Reused },
						GotFirstResponseByte: func() { answered = true },
					}))
					c := plainClient
					if attempt > 1 {
						c = freshClient // as a browser ends up doing: a new connection
					}
					res.reply = send(c, req)
					res.reused = reused
					if res.err != nil && o.resendUnanswered && !answered && attempt < maxAttempts {
						conn := "new"
						if reused {
							conn = "reused"
						}
						res.retried = append(res.retried, conn+" connection: "+res.err.Error())
						continue
					}
					break
				}
				res.end = time.Now()
				if len(res.body) > maxKeptBody {
					res.body = res.body[:maxKeptBody]
				}
				l.mu.Lock()
				l.results = append(l.results, res)
				l.mu.Unlock()
				l.doneN.Add(1)
			}
		}()
	}
	return l
}

// maxKeptBody is how much of each load answer is kept (enough for a
// user's id and an error envelope's code).
const maxKeptBody = 256

// maxAttempts bounds the resends of loadOpts.resendUnanswered: after a
// reload several idle connections close at once, and a resend can pick
// another of them from the pool.
const maxAttempts = 3

// attemptID is the request id the upstream sees for one attempt.
func attemptID(id string, attempt int) string { return fmt.Sprintf("%s#%d", id, attempt) }

// stop ends the load early: no worker starts another request. The
// requests in flight are answered and kept.
func (l *loader) stop() { l.stopped.Store(true) }

// answered is how many requests have been answered so far.
func (l *loader) answered() int { return int(l.doneN.Load()) }

// waitCount waits until at least n requests have been answered.
func (l *loader) waitCount(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for l.doneN.Load() < int64(n) {
		if l.doneN.Load() >= int64(l.total) {
			t.Fatalf("load: all %d requests answered before the %d the test waits for", l.total, n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("load: only %d of %d requests answered after %s", l.doneN.Load(), n, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wait waits for every request and returns the results in start order.
func (l *loader) wait(t *testing.T, timeout time.Duration) []result {
	t.Helper()
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		t.Fatalf("load: %d of %d requests answered after %s", l.doneN.Load(), l.total, timeout)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]result(nil), l.results...)
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// tally counts results by kind and status ("error" for transport
// errors) for messages.
func tally(rs []result) string {
	counts := map[string]int{}
	for _, r := range rs {
		k := fmt.Sprintf("%s %d", r.kind, r.status)
		if r.err != nil {
			k = r.kind + " error"
		}
		counts[k]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s ×%d; ", k, counts[k])
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// failures lists up to max results that are not 2xx/3xx.
func failures(rs []result, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range rs {
		if r.ok() {
			continue
		}
		n++
		if n <= max {
			fmt.Fprintf(&b, "\n  %s %s at %s (%v, reused conn %v, resent after %q): %s", r.kind, r.id, r.start.Format("15:04:05.000"), r.latency().Round(time.Millisecond), r.reused, r.retried, r.reply)
		}
	}
	if n > max {
		fmt.Fprintf(&b, "\n  ... %d more", n-max)
	}
	return b.String()
}

// requireAllOK fails the test when any result is not 2xx/3xx.
func requireAllOK(t *testing.T, what string, rs []result) {
	t.Helper()
	bad := 0
	for _, r := range rs {
		if !r.ok() {
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d requests not 2xx/3xx (%s):%s", what, bad, len(rs), tally(rs), failures(rs, 15))
	}
}

// ---- request builders ----

// gateGET is a GET of path on base with only the given cookies: the
// answer is the gate's (401 without a session, 200 through the upstream).
func gateGET(base, path string, cookies ...*http.Cookie) func() (*http.Request, error) {
	return func() (*http.Request, error) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		for _, c := range cookies {
			req.AddCookie(c)
		}
		return req, nil
	}
}

// adminPOST is an admin API POST of body to path.
func adminPOST(in *instance, path string, body any) func() (*http.Request, error) {
	return func() (*http.Request, error) {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequest(http.MethodPost, in.admin+path, bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		return req, nil
	}
}

// signedIn is a signed-in browser's credentials, as separate cookies so
// requests can carry either.
type signedIn struct {
	email, userID, sessionID string
	client, session          *http.Cookie
}

// signInUsers creates n users with passwords on in (emails
// prefix-<i>@example.com) and signs each in on base.
func signInUsers(t *testing.T, in *instance, base, prefix string, n int) []signedIn {
	t.Helper()
	out := make([]signedIn, 0, n)
	for i := 0; i < n; i++ {
		email := fmt.Sprintf("%s-%d@example.com", prefix, i)
		u := in.createUser(t, email, true)
		b := newBrowser(t)
		sid := b.signIn(t, base, email)
		out = append(out, signedIn{
			email: email, userID: u.ID, sessionID: sid,
			client:  &http.Cookie{Name: "__client", Value: b.cookie("__client")},
			session: &http.Cookie{Name: "__session", Value: b.cookie("__session")},
		})
	}
	return out
}

// pollUntil calls f every 20 ms until it reports done or timeout passes;
// it returns how long that took and whether f succeeded.
func pollUntil(timeout time.Duration, f func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if f() {
			return time.Since(start), true
		}
		if time.Since(start) > timeout {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}
