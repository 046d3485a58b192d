//go:build soak

package soak

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBoltKill: Caddy on the embedded bbolt store is killed with SIGKILL
// while admin creates are being written, five times. Each time it starts
// again on the same file without error, every create it acknowledged
// (200) before is there, and the sessions made at the start still work.
func TestBoltKill(t *testing.T) {
	db := filepath.Join(t.TempDir(), "data", "authgate.db")
	up := newUpstream(t)
	in := startInstance(t, "A", up, site{storage: "file " + db, tokenLifetime: "10m"})
	users := signInUsers(t, in, in.site, "bolt", 3)
	var acked []string
	const rounds, total, killAfter = 5, 400, 60
	for round := 1; round <= rounds; round++ {
		l := startLoad(loadOpts{workers: 4, total: total}, func(i int) call {
			if i%4 == 3 {
				return call{kind: kindRefresh, needsStore: true, build: gateGET(in.site, "/app", users[i%len(users)].client)}
			}
			return faultMix(in, users)(7) // an admin create
		})
		l.waitCount(t, killAfter, time.Minute)
		killedAt := time.Now() // from here on a request may meet the dying process
		in.Kill()
		rs := l.wait(t, time.Minute)
		writes, refused := 0, 0
		for _, r := range rs {
			switch {
			case r.ok():
				if r.kind == kindAdminUser {
					writes++
				}
			case r.err != nil && !r.end.Before(killedAt):
				refused++ // in flight at the kill, or sent to a dead process
			default:
				t.Fatalf("round %d: %s %s before the kill: %s", round, r.kind, r.id, r.reply)
			}
		}
		acked = append(acked, ackedUsers(t, rs)...)

		start := time.Now()
		in.Start()
		t.Logf("round %d: %d creates acknowledged, %d requests unanswered at or after the kill; restarted in %v",
			round, writes, refused, time.Since(start).Round(time.Millisecond))
		checkKept(t, in, users, acked)
	}
	if strings.Contains(in.Log(), "panic") {
		t.Fatalf("a panic in Caddy's log:\n%s", in.LogTail(30))
	}
}

// TestBoltSecondInstance: a second Caddy configured with the same bbolt
// file as a running one exits at start with an error that says the file
// is locked by another process, and the first keeps serving.
func TestBoltSecondInstance(t *testing.T) {
	db := filepath.Join(t.TempDir(), "authgate.db")
	up := newUpstream(t)
	a := startInstance(t, "A", up, site{storage: "file " + db})
	u := a.createUser(t, "first@example.com", false)

	b := newInstance(t, "B", up, site{storage: "file " + db})
	start := time.Now()
	b.Launch()
	err := b.WaitExit(30 * time.Second)
	took := time.Since(start)
	if err == nil {
		t.Fatalf("a second Caddy on %s exited 0\n%s", db, b.LogTail(10))
	}
	log := b.Log()
	for _, want := range []string{db, "locked by another process"} {
		if !strings.Contains(log, want) {
			t.Fatalf("the second Caddy's error does not say %q:\n%s", want, b.LogTail(10))
		}
	}
	t.Logf("second Caddy exited after %v (%v): %s", took.Round(time.Millisecond), err, lastLine(log))
	if r := a.adminDo(http.MethodGet, "/users/"+u.ID, nil); r.err != nil || r.status != http.StatusOK {
		t.Fatalf("the first Caddy after the second one's attempt: %s", r)
	}
}

// lastLine is the last non-empty line of a log.
func lastLine(log string) string {
	lines := strings.Split(strings.TrimSpace(log), "\n")
	return lines[len(lines)-1]
}
