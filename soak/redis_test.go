//go:build soak

package soak

import (
	"fmt"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
)

// faultSite is the config of the store-fault suites: long tokens (the
// suites take longer than the default 60 s would allow a cached token to
// stay cached), a lockout whose counter the suites check.
func faultSite(storage string, key string) site {
	return site{
		storage: storage, tokenLifetime: "10m", encryptionKey: key,
		global: fmt.Sprintf("lockout %d 1h", lockoutAttempts),
	}
}

// TestRedisKill: redis-server (appendonly yes, appendfsync always) is
// killed with SIGKILL under load. Requests that need the store answer
// 503 + Retry-After within 1 s and none reaches the upstream; after a
// restart on the same AOF directory, Caddy (not restarted) serves again
// within 2 s, and every user, session and counter written before the
// kill is still there.
func TestRedisKill(t *testing.T) {
	rs := testenv.StartRedisNode(t, testenv.RedisNodeOptions{AOF: true})
	f := startFaultSuite(t, "redis "+rs.URL(), "kill", true, loadOpts{workers: 6, total: 400})

	during, _, n503 := f.loadAcross(t, "the kill", 600, 100, rs.Kill)
	if n503 == 0 {
		t.Fatal("no request answered 503 while redis was dead")
	}

	rs.Start()
	took := awaitRecovery(t, f.in, f.users[0], 10*time.Second)
	t.Logf("recovered %v after redis answered PING again (AOF %d bytes)", took.Round(time.Millisecond), rs.AOFBytes())
	if took > 2*time.Second {
		t.Fatalf("recovery took %v after redis came back, want at most 2 s", took)
	}
	after := startLoad(loadOpts{workers: 6, total: 400}, faultMix(f.in, f.users)).wait(t, time.Minute)
	requireAllOK(t, "load after the restart", after)

	checkKept(t, f.in, f.users, append(f.acked, ackedUsers(t, during)...))
	checkCounterKept(t, f.in, "counter@example.com")
}

// TestRedisHung: redis-server is stopped with SIGSTOP (hung: connections
// stay open, nothing answers) under load. Requests that need the store
// answer 503 + Retry-After within 1 s and none reaches the upstream;
// Caddy's goroutine count does not grow with the requests that met the
// hung store; after SIGCONT it serves again.
func TestRedisHung(t *testing.T) {
	rs := testenv.StartRedisNode(t, testenv.RedisNodeOptions{})
	f := startFaultSuite(t, "redis "+rs.URL(), "hung", false, loadOpts{workers: 6, total: 300})
	g0 := settledGoroutines(t, f.in, 0)

	during, down, n503 := f.loadAcross(t, "the pause", 800, 100, rs.Pause)
	logLatencies(t, during, down)
	if n503 == 0 {
		t.Fatal("no request answered 503 while redis was hung")
	}
	g1 := settledGoroutines(t, f.in, g0)
	t.Logf("goroutines: %d before the pause, %d after %d requests met the hung store", g0, g1, n503)

	rs.Resume()
	took := awaitRecovery(t, f.in, f.users[0], 10*time.Second)
	t.Logf("recovered %v after SIGCONT", took.Round(time.Millisecond))
	after := startLoad(loadOpts{workers: 6, total: 300}, faultMix(f.in, f.users)).wait(t, time.Minute)
	requireAllOK(t, "load after the resume", after)
	g2 := settledGoroutines(t, f.in, g0)
	t.Logf("goroutines after the resume and %d more requests: %d", len(after), g2)
	checkKept(t, f.in, f.users, append(f.acked, ackedUsers(t, during)...))
}

// faultSuite is the start every store-fault suite shares: an upstream,
// instance A on the storage under test, six users signed in with their
// tokens cached, and a first load that must all succeed.
type faultSuite struct {
	up    *upstream
	in    *instance
	users []signedIn
	// acked are the users whose create the first load acknowledged.
	acked []string
}

// startFaultSuite starts a fault suite named name on storage; counter
// also leaves counter@example.com one failure short of lockout, for
// checkCounterKept.
func startFaultSuite(t *testing.T, storage, name string, counter bool, before loadOpts) *faultSuite {
	t.Helper()
	f := &faultSuite{up: newUpstream(t)}
	f.in = startInstance(t, "A", f.up, faultSite(storage, newEncryptionKey(t)))
	f.users = signInUsers(t, f.in, f.in.site, name, 6)
	warmTokens(t, f.in, f.users)
	if counter {
		f.in.createUser(t, "counter@example.com", true)
		countFailures(t, f.in, "counter@example.com", lockoutAttempts-1)
	}
	rs := startLoad(before, faultMix(f.in, f.users)).wait(t, time.Minute)
	requireAllOK(t, "load before the fault ("+name+")", rs)
	f.acked = ackedUsers(t, rs)
	return f
}

// loadAcross runs total requests of the fault mix and calls fault once
// after have been answered; it checks the answers against the outage
// (from the fault to the end of the load) and returns them, the outage
// and the number of 503s.
func (f *faultSuite) loadAcross(t *testing.T, what string, total, after int, fault func()) ([]result, outage, int) {
	t.Helper()
	l := startLoad(loadOpts{workers: 6, total: total}, faultMix(f.in, f.users))
	l.waitCount(t, after, time.Minute)
	fault()
	down := outage{from: time.Now()}
	during := l.wait(t, time.Minute)
	down.to = time.Now()
	n503 := checkOutage(t, f.up, "load across "+what, during, down)
	t.Logf("across %s: %s (503s: %d)", what, tally(during), n503)
	return during, down, n503
}

// goroutineSlack is how many goroutines above the baseline count as no
// growth (timers, a breaker probe, the pool refilling).
const goroutineSlack = 15

// settledGoroutines closes the load's idle connections and returns
// Caddy's goroutine count once it is at most want+goroutineSlack (want 0:
// the first reading, once two readings agree), or fails after 10 s.
func settledGoroutines(t *testing.T, in *instance, want int) int {
	t.Helper()
	transport.CloseIdleConnections()
	prev, n := -1, 0
	took, ok := pollUntil(10*time.Second, func() bool {
		var err error
		n, err = in.Goroutines()
		if err != nil {
			t.Fatalf("goroutine count: %v", err)
		}
		if want == 0 {
			done := n == prev
			prev = n
			return done
		}
		return n <= want+goroutineSlack
	})
	if !ok {
		t.Fatalf("%s: %d goroutines %v after the load, want at most %d + %d", in.name, n, took.Round(time.Millisecond), want, goroutineSlack)
	}
	return n
}

// logLatencies logs the slowest answer per kind inside an outage.
func logLatencies(t *testing.T, rs []result, o outage) {
	t.Helper()
	worst := map[string]time.Duration{}
	for _, r := range rs {
		if r.start.Before(o.from) {
			continue
		}
		if d := r.latency(); d > worst[r.kind] {
			worst[r.kind] = d
		}
	}
	t.Logf("slowest answer per kind while the store was hung: %v", worst)
}
