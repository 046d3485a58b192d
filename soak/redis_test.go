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
	up := newUpstream(t)
	in := startInstance(t, "A", up, faultSite("redis "+rs.URL(), newEncryptionKey(t)))
	users := signInUsers(t, in, in.site, "kill", 6)
	warmTokens(t, in, users)
	in.createUser(t, "counter@example.com", true)
	countFailures(t, in, "counter@example.com", lockoutAttempts-1)

	before := startLoad(loadOpts{workers: 6, total: 400}, faultMix(in, users)).wait(t, time.Minute)
	requireAllOK(t, "load before the kill", before)
	acked := ackedUsers(t, before)

	const total, killAfter = 600, 100
	l := startLoad(loadOpts{workers: 6, total: total}, faultMix(in, users))
	l.waitCount(t, killAfter, time.Minute)
	rs.Kill()
	down := outage{from: time.Now()}
	during := l.wait(t, time.Minute)
	down.to = time.Now()
	n503 := checkOutage(t, up, "load across the kill", during, down)
	acked = append(acked, ackedUsers(t, during)...)
	t.Logf("across the kill: %s (503s: %d)", tally(during), n503)
	if n503 == 0 {
		t.Fatal("no request answered 503 while redis was dead")
	}

	rs.Start()
	took := awaitRecovery(t, in, users[0], 10*time.Second)
	t.Logf("recovered %v after redis answered PING again (AOF %d bytes)", took.Round(time.Millisecond), rs.AOFBytes())
	if took > 2*time.Second {
		t.Fatalf("recovery took %v after redis came back, want at most 2 s", took)
	}
	after := startLoad(loadOpts{workers: 6, total: 400}, faultMix(in, users)).wait(t, time.Minute)
	requireAllOK(t, "load after the restart", after)

	checkKept(t, in, users, acked)
	checkCounterKept(t, in, "counter@example.com")
}

// TestRedisHung: redis-server is stopped with SIGSTOP (hung: connections
// stay open, nothing answers) under load. Requests that need the store
// answer 503 + Retry-After within 1 s and none reaches the upstream;
// Caddy's goroutine count does not grow with the requests that met the
// hung store; after SIGCONT it serves again.
func TestRedisHung(t *testing.T) {
	rs := testenv.StartRedisNode(t, testenv.RedisNodeOptions{})
	up := newUpstream(t)
	in := startInstance(t, "A", up, faultSite("redis "+rs.URL(), newEncryptionKey(t)))
	users := signInUsers(t, in, in.site, "hung", 6)
	warmTokens(t, in, users)

	before := startLoad(loadOpts{workers: 6, total: 300}, faultMix(in, users)).wait(t, time.Minute)
	requireAllOK(t, "load before the pause", before)
	acked := ackedUsers(t, before)
	g0 := settledGoroutines(t, in, 0)

	const total, pauseAfter = 800, 100
	l := startLoad(loadOpts{workers: 6, total: total}, faultMix(in, users))
	l.waitCount(t, pauseAfter, time.Minute)
	rs.Pause()
	down := outage{from: time.Now()}
	during := l.wait(t, time.Minute)
	down.to = time.Now()
	n503 := checkOutage(t, up, "load across the pause", during, down)
	acked = append(acked, ackedUsers(t, during)...)
	t.Logf("across the pause: %s (503s: %d)", tally(during), n503)
	logLatencies(t, during, down)
	if n503 == 0 {
		t.Fatal("no request answered 503 while redis was hung")
	}
	g1 := settledGoroutines(t, in, g0)
	t.Logf("goroutines: %d before the pause, %d after %d requests met the hung store", g0, g1, n503)

	rs.Resume()
	took := awaitRecovery(t, in, users[0], 10*time.Second)
	t.Logf("recovered %v after SIGCONT", took.Round(time.Millisecond))
	after := startLoad(loadOpts{workers: 6, total: 300}, faultMix(in, users)).wait(t, time.Minute)
	requireAllOK(t, "load after the resume", after)
	g2 := settledGoroutines(t, in, g0)
	t.Logf("goroutines after the resume and %d more requests: %d", len(after), g2)
	checkKept(t, in, users, acked)
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
