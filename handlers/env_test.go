package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/password/breach"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
	redisstore "github.com/authgate/authgate/store/redis"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/users"
)

// lazyMail is an environment's mailbox and its Emailer: mailpit starts
// the first time a test sends or reads mail, so that the many tests that
// never do skip it.
type lazyMail struct {
	tb   testing.TB
	once sync.Once
	srv  *testenv.MailpitServer
	smtp notify.Emailer
	// beforeStop runs before mailpit stops (waits for deliveries in
	// flight, which would otherwise fail against a stopped server).
	beforeStop func()
}

func (m *lazyMail) server() *testenv.MailpitServer {
	m.once.Do(func() {
		srv := testenv.Mailpit(m.tb)
		m.tb.Cleanup(func() {
			if m.beforeStop != nil {
				m.beforeStop()
			}
		})
		smtp, err := notify.NewSMTP(notify.SMTPConfig{Address: srv.SMTPAddr(), From: "Authgate <no-reply@example.com>", TLS: "none"})
		if err != nil {
			m.tb.Error(err)
			return
		}
		m.srv, m.smtp = srv, smtp
	})
	return m.srv
}

// SendEmail starts mailpit if need be and sends m through it.
func (m *lazyMail) SendEmail(ctx context.Context, msg notify.Message) error {
	if m.server() == nil {
		return errors.New("test mailpit did not start")
	}
	return m.smtp.SendEmail(ctx, msg)
}

func (m *lazyMail) LatestCode(t testing.TB, to string) string {
	t.Helper()
	return m.server().LatestCode(t, to)
}

func (m *lazyMail) Count(t testing.TB, to string) int {
	t.Helper()
	return m.server().Count(t, to)
}

func (m *lazyMail) WaitFor(t testing.TB, to string, timeout time.Duration) testenv.MailpitMessage {
	t.Helper()
	return m.server().WaitFor(t, to, timeout)
}

func (m *lazyMail) DeleteAll(t testing.TB) {
	t.Helper()
	m.server().DeleteAll(t)
}

// smsSink is the test HTTP server behind the `sms webhook` sender.
type smsSink struct {
	mu   sync.Mutex
	msgs []struct{ To, Body string }
	srv  *httptest.Server
}

func newSMSSink(t testing.TB) *smsSink {
	s := &smsSink{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct{ To, Body string }
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *smsSink) count(to string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.msgs {
		if m.To == to {
			n++
		}
	}
	return n
}

// code waits for the newest code texted to `to`.
func (s *smsSink) code(t *testing.T, to string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for i := len(s.msgs) - 1; i >= 0; i-- {
			if s.msgs[i].To == to {
				if c, ok := testenv.ExtractCode(s.msgs[i].Body); ok {
					s.mu.Unlock()
					return c
				}
			}
		}
		s.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no code texted to %s", to)
	return ""
}

// env is a whole authgate site over real services: a bbolt or Redis
// store, mailpit for email (started when first used), a webhook sink for
// SMS, and an upstream that records the headers it receives.
type env struct {
	t        *testing.T // nil in benchmarks
	tb       testing.TB
	st       store.Store
	redis    *testenv.RedisServer
	eng      *app.Services
	srv      *handlers.Server
	http     *httptest.Server
	mail     *lazyMail
	sms      *smsSink
	clock    *testenv.Clock
	logger   *zap.Logger
	upstream chan http.Header
}

type envOpt struct {
	redis       bool
	enumeration bool
	taskURLs    map[string]string
	breachOnIn  bool
	public      []string
	engineCfg   func(*app.Config)
	logger      *zap.Logger
}

func newEnv(t *testing.T, opts ...func(*envOpt)) *env { return newEnvTB(t, opts...) }

func newEnvTB(t testing.TB, opts ...func(*envOpt)) *env {
	t.Helper()
	o := envOpt{enumeration: true}
	for _, f := range opts {
		f(&o)
	}
	e := &env{tb: t, clock: testenv.NewClock(time.Now()), mail: &lazyMail{tb: t}, upstream: make(chan http.Header, 100)}
	if tt, ok := t.(*testing.T); ok {
		e.t = tt
	}
	e.st, e.redis = openStore(t, o.redis)
	e.sms = newSMSSink(t)
	texter, err := notify.NewWebhook(e.sms.srv.URL, nil)
	noErr(t, err)
	cfg := app.Config{
		TokenLifetime: time.Minute,
		Breach:        breach.Common(),
		Emailer:       e.mail,
		Texter:        texter,
		HashParams:    cheapHash(),
		Now:           e.clock.Now,
	}
	cfg.SignIn.EnumerationProtection = o.enumeration
	cfg.SignIn.BreachOnSignIn = o.breachOnIn
	cfg.SignIn.RequestsPerIP = 10000
	cfg.SignIn.SendsPerIP = 10000
	if o.engineCfg != nil {
		o.engineCfg(&cfg)
	}
	e.logger = o.logger
	if e.logger == nil {
		e.logger = zap.NewNop()
	}
	e.eng, err = app.New(cfg, e.st, e.logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.eng.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.mail.beforeStop = e.eng.Deliveries.Wait
	e.srv = handlers.New(handlers.Config{
		Prefix: "/__authgate", SignInURL: "/__authgate/sign-in", AfterSignInURL: "/",
		Tasks: tasks.NewRouter("/__authgate", o.taskURLs), Public: o.public,
	}, e.deps())
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case e.upstream <- r.Header.Clone():
		default:
		}
		_, _ = io.WriteString(w, "upstream "+r.URL.Path)
	})
	e.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.srv.InPrefix(r) {
			e.srv.ServeBuiltin(w, r)
			return
		}
		if v := e.srv.Gate(w, r); v.Pass {
			upstream.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(e.http.Close)
	t.Cleanup(e.eng.Deliveries.Wait)
	return e
}

// deps are the handlers' services of the environment.
func (e *env) deps() handlers.Deps {
	return handlers.Deps{
		Users: e.eng.Users, Sessions: e.eng.Sessions, SignIn: e.eng.SignIn, Tokens: e.eng.Tokens,
		CSRFKey: secret.New(e.st, handlers.CSRFKeyName), Events: e.eng.Events, Now: e.clock.Now,
		PasswordMinLength: 8, Logger: e.logger,
	}
}

// openStore opens a store for one test: a bbolt file, or a Redis server
// of its own (returned too, to stop and start it).
func openStore(t testing.TB, redis bool) (store.Store, *testenv.RedisServer) {
	t.Helper()
	if redis {
		srv := testenv.Redis(t)
		return redisStore(t, srv.URL()), srv
	}
	b, err := bolt.Open(filepath.Join(t.TempDir(), "authgate.db"))
	noErr(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, nil
}

// redisStore is a store with a client of its own on the Redis at url,
// closed when the test ends.
func redisStore(tb testing.TB, url string) store.Store {
	tb.Helper()
	opt, err := redisstore.ParseURL(url)
	noErr(tb, err)
	st := redisstore.New(goredis.NewUniversalClient(opt), "")
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

// cheapHash is password hashing made cheap: no test measures its cost.
func cheapHash() *password.Params {
	return &password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

func withRedis(o *envOpt)      { o.redis = true }
func noEnumeration(o *envOpt)  { o.enumeration = false }
func breachOnSignIn(o *envOpt) { o.breachOnIn = true }
func withTaskURL(k, u string) func(*envOpt) {
	return func(o *envOpt) { o.taskURLs = map[string]string{k: u} }
}

// createUser makes a user directly through the user service.
func (e *env) createUser(email, phone, pw string) *users.User {
	e.tb.Helper()
	nu := users.NewUser{Password: pw}
	if email != "" {
		nu.Emails = []string{email}
	}
	if phone != "" {
		nu.Phones = []string{phone}
	}
	u, err := e.eng.Users.Create(context.Background(), nu)
	if err != nil {
		e.tb.Fatalf("creating user: %v", err)
	}
	return u
}

// alice creates alice@example.com with alicePW, the user most tests sign
// in as.
func (e *env) alice() *users.User {
	e.tb.Helper()
	return e.createUser("alice@example.com", "", alicePW)
}

// aliceEnv is an environment with alice in it, what most tests start
// from.
func aliceEnv(t *testing.T, opts ...func(*envOpt)) (*env, *users.User) {
	t.Helper()
	e := newEnv(t, opts...)
	return e, e.alice()
}

// aliceBrowser is a new browser signed in as alice (who must exist), and
// the sign-in's reply.
func (e *env) aliceBrowser() (*browser, reply) {
	e.tb.Helper()
	b := e.browser()
	return b, b.signIn("alice@example.com", alicePW)
}

// noErr stops the test at err: a step it cannot go on without failed.
func noErr(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// aliceSignedIn is aliceEnv's site with a browser signed in as alice.
func aliceSignedIn(t *testing.T) (*env, *browser) {
	t.Helper()
	e, _ := aliceEnv(t)
	b, _ := e.aliceBrowser()
	return e, b
}

// browser is a cookie-keeping client that does not follow redirects.
type browser struct {
	e   *env
	c   *http.Client
	jar *cookiejar.Jar
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, jar: jar, c: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type reply struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r reply) errCode() string { return testenv.ErrorCode(r.body) }

func (r reply) resp() map[string]any {
	m, _ := r.json["response"].(map[string]any)
	return m
}

func (r reply) str(key string) string {
	v, _ := r.resp()[key].(string)
	return v
}

func (b *browser) do(method, path string, form url.Values, hdr map[string]string) reply {
	b.e.tb.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.http.URL+path, body)
	noErr(b.e.tb, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", b.e.http.URL)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	noErr(b.e.tb, err)
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	r := reply{status: res.StatusCode, header: res.Header, body: data}
	_ = json.Unmarshal(data, &r.json)
	return r
}

func (b *browser) post(path string, form url.Values) reply {
	b.e.tb.Helper()
	return b.do(http.MethodPost, "/__authgate"+path, form, nil)
}

func (b *browser) get(path string, hdr map[string]string) reply {
	b.e.tb.Helper()
	return b.do(http.MethodGet, path, nil, hdr)
}

var navigation = map[string]string{"Accept": "text/html,application/xhtml+xml"}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func expect(t testing.TB, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.errCode() != code {
		t.Fatalf("got %d %q, want %d %q; body: %s", r.status, r.errCode(), status, code, r.body)
	}
}

// signIn signs b in with a password and returns the sign-in response.
func (b *browser) signIn(ident, pw string) reply {
	b.e.tb.Helper()
	r := b.post("/v1/client/sign_ins", form("identifier", ident, "password", pw))
	expect(b.e.tb, r, 200, "")
	if r.str("status") != "complete" {
		b.e.tb.Fatalf("sign-in status %q", r.str("status"))
	}
	return r
}

// upstreamHeaders returns the headers of the next request that reached
// the upstream.
func (e *env) upstreamHeaders() http.Header {
	e.tb.Helper()
	select {
	case h := <-e.upstream:
		return h
	case <-time.After(5 * time.Second):
		e.tb.Fatal("no request reached the upstream")
		return nil
	}
}

// startReset starts the seed's reset by email code for email and returns
// the sign-in id and the code that was mailed.
func (b *browser) startReset(email string) (id, code string) {
	b.e.tb.Helper()
	r := b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", email))
	expect(b.e.tb, r, 200, "")
	return r.str("id"), b.e.mail.LatestCode(b.e.tb, email)
}

// aliceResetting is an environment with alice, and a browser that
// started her reset by email code: the attempt's id and the code mailed.
func aliceResetting(t *testing.T, opts ...func(*envOpt)) (e *env, b *browser, id, code string) {
	t.Helper()
	e, _ = aliceEnv(t, opts...)
	b = e.browser()
	id, code = b.startReset("alice@example.com")
	return e, b, id, code
}

// attemptReset sends code for b's reset by email code id.
func (b *browser) attemptReset(id, code string) reply {
	b.e.tb.Helper()
	return b.post("/v1/client/sign_ins/"+id+"/attempt_first_factor", form("strategy", "reset_password_email_code", "code", code))
}

// otherCode is a well-formed code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// storeBackends runs a test on bbolt and on Redis.
var storeBackends = []struct {
	name string
	opts []func(*envOpt)
}{{"bolt", nil}, {"redis", []func(*envOpt){withRedis}}}
