package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/internal/app"
	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store"
)

// refreshStores are the stores BenchmarkGateRefresh runs on, each as
// the two instances' stores: one bbolt file (which only one process can
// open, so both instances share the handle), one redis-server, and a
// real three-master Redis Cluster (where the client, the session and the
// user sit on different nodes); on Redis each instance has its own
// client and connection pool, as two processes would.
var refreshStores = []struct {
	name string
	open func(testing.TB) (store.Store, store.Store)
}{
	{"bolt", func(tb testing.TB) (store.Store, store.Store) { st, _ := openStore(tb, false); return st, st }},
	{"redis", func(tb testing.TB) (store.Store, store.Store) { return redisPair(tb, testenv.Redis(tb).URL()) }},
	{"cluster", func(tb testing.TB) (store.Store, store.Store) { return redisPair(tb, testenv.RedisCluster3(tb).URL()) }},
}

// redisPair is two stores, each with its own client, on the Redis at url.
func redisPair(tb testing.TB, url string) (store.Store, store.Store) {
	return redisStore(tb, url), redisStore(tb, url)
}

// BenchmarkGateRefresh measures a token refresh: a request that carries
// only the __client cookie (a browser whose __session expired), so the
// gate reads the client, its session and the user from the store and
// mints a new session token, every time (a minted token is not cached:
// the next request of the browser brings it back as __session). Two
// authgate instances over the same store take the requests in turn, as
// behind a load balancer. The token is signed with the default
// algorithm (RS256), whose signature is most of the cost (see
// BenchmarkMint in token). refreshes/s is for one caller, one request at
// a time.
func BenchmarkGateRefresh(b *testing.B) {
	for _, st := range refreshStores {
		b.Run(st.name, func(b *testing.B) { benchRefresh(b, st.open) })
	}
}

func benchRefresh(b *testing.B, open func(testing.TB) (store.Store, store.Store)) {
	clock := testenv.NewClock(time.Now())
	st1, st2 := open(b)
	one, two := newInstance(b, st1, clock), newInstance(b, st2, clock)
	rf := newRefresher(handlers.CookieClient + "=" + signedInClient(b, one))
	srvs := [2]*handlers.Server{one.srv, two.srv}
	for _, srv := range srvs { // each instance refreshes once before the timer starts
		if !rf.refresh(srv) {
			b.Fatal("the __client cookie did not refresh the session")
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if !rf.refresh(srvs[i&1]) {
			b.Fatal("a refresh did not mint a session token")
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "refreshes/s")
}

// refresher sends the gate a request with only the __client cookie. The
// request and the recorder are reused (the Cookie line restored, the
// response headers cleared each time), as in benchGate, so the numbers
// are the gate's and the store's, not the test's.
type refresher struct {
	cookie string
	r      *http.Request
	w      *httptest.ResponseRecorder
}

func newRefresher(cookie string) *refresher {
	r := httptest.NewRequest(http.MethodGet, "/app", nil)
	r.Host = "app.example.com"
	return &refresher{cookie: cookie, r: r, w: httptest.NewRecorder()}
}

// refresh reports whether the request passed signed in with a new
// __session cookie set.
func (f *refresher) refresh(srv *handlers.Server) bool {
	clear(f.w.HeaderMap)
	f.r.Header["Cookie"] = []string{f.cookie}
	if v := srv.Gate(f.w, f.r); !v.Pass || v.Identity == nil {
		return false
	}
	for _, c := range f.w.HeaderMap["Set-Cookie"] {
		if strings.HasPrefix(c, handlers.CookieSession+"=") {
			return true
		}
	}
	return false
}

// newInstance is one authgate instance over st: its own services (its
// own keyring, caches and session manager, loaded from st as a second
// process would) and its own handlers.Server. It is an env without the
// HTTP server and the mail and SMS senders, which a refresh never uses.
func newInstance(tb testing.TB, st store.Store, clock *testenv.Clock) *env {
	tb.Helper()
	e := &env{tb: tb, st: st, clock: clock, logger: zap.NewNop()}
	var err error
	e.eng, err = app.New(app.Config{TokenLifetime: time.Minute, HashParams: cheapHash(), Now: clock.Now}, st, e.logger)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.eng.Load(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.eng.Deliveries.Wait)
	e.srv = handlers.New(handlers.Config{Prefix: "/__authgate", SignInURL: "/__authgate/sign-in", AfterSignInURL: "/"}, e.deps())
	return e
}

// signedInClient signs alice in on a new client of e (the session as a
// sign-in makes it) and returns the client's cookie token.
func signedInClient(tb testing.TB, e *env) string {
	tb.Helper()
	u := e.alice()
	ctx := context.Background()
	c, _, err := e.eng.Sessions.NewClient(ctx)
	noErr(tb, err)
	if _, err := e.eng.Sessions.Create(ctx, c, session.NewSession{UserID: u.ID}); err != nil {
		tb.Fatal(err)
	}
	return c.RotatedToken()
}
