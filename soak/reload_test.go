//go:build soak

package soak

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
)

// reloadMix is the load of the reload suite: the same kinds of request
// on the authgate site and on a plain reverse_proxy site of the same
// Caddy, GETs and POSTs alike, so the two can be compared.
func reloadMix(in *instance, users []signedIn) func(i int) call {
	return func(i int) call {
		u := users[i%len(users)]
		switch i % 6 {
		case 0:
			return call{kind: "authgate GET __session", build: gateGET(in.site, "/app", u.session)}
		case 1:
			return call{kind: "authgate GET __client", needsStore: true, build: gateGET(in.site, "/app", u.client)}
		case 2:
			return call{kind: "authgate POST tokens", needsStore: true, build: func() (*http.Request, error) {
				req, err := http.NewRequest(http.MethodPost, in.site+"/__authgate/v1/client/sessions/"+u.sessionID+"/tokens", strings.NewReader(""))
				if err != nil {
					return nil, err
				}
				req.Header.Set("Origin", in.site)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.AddCookie(u.client)
				return req, nil
			}}
		case 3:
			return call{kind: "authgate POST upstream", build: func() (*http.Request, error) {
				req, err := http.NewRequest(http.MethodPost, in.site+"/app/form", strings.NewReader(url.Values{"a": {"1"}}.Encode()))
				if err != nil {
					return nil, err
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.AddCookie(u.session)
				return req, nil
			}}
		case 4:
			return call{kind: "plain GET", build: gateGET(in.plain, "/app")}
		default:
			return call{kind: "plain POST", build: func() (*http.Request, error) {
				req, err := http.NewRequest(http.MethodPost, in.plain+"/app/form", strings.NewReader(url.Values{"a": {"1"}}.Encode()))
				if err != nil {
					return nil, err
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return req, nil
			}}
		}
	}
}

// TestReloadUnderLoad: five `caddy reload`s while a bounded load runs on
// the authgate site and on a plain reverse_proxy site of the same Caddy,
// on each backend: no request gets an answer other than 2xx/3xx, and the
// sessions made before still work after.
//
// What a reload does drop is connections, not requests, and on every
// site alike. On Linux Caddy binds a new SO_REUSEPORT socket for each
// config and closes the old config's one when it stops it, and
// net/http's Shutdown closes the old server's idle keep-alive
// connections at once: a request sent on such a connection, or queued
// on the old socket, meets a reset or EOF before any byte of an answer.
// The plain site and a Caddy without authgate lose them at the same
// rate (about one connection per reload under this load); GETs hide it
// because Go's Transport resends idempotent requests on a reused
// connection by itself, POSTs do not. So the load resends a request that
// got no byte of an answer (as a browser resends on a reused
// connection), counts those per site, and checks that no failed attempt
// had reached the upstream, i.e. that no handled request was lost.
func TestReloadUnderLoad(t *testing.T) {
	for _, backend := range []string{"file", "redis"} {
		t.Run(backend, func(t *testing.T) {
			storage := "file " + filepath.Join(t.TempDir(), "authgate.db")
			if backend == "redis" {
				storage = "redis " + testenv.StartRedisNode(t, testenv.RedisNodeOptions{}).URL()
			}
			reloadUnderLoad(t, storage)
		})
	}
}

func reloadUnderLoad(t *testing.T, storage string) {
	up := newUpstream(t)
	in := startInstance(t, "A", up, site{storage: storage, plain: true, encryptionKey: newEncryptionKey(t)})
	users := signInUsers(t, in, in.site, "reload", 4)

	const reloads, perPhase = 5, 300
	l := startLoad(loadOpts{workers: 8, total: perPhase * (reloads + 1), resendUnanswered: true}, reloadMix(in, users))
	for k := 1; k <= reloads; k++ {
		l.waitCount(t, perPhase*k, time.Minute)
		start := time.Now()
		if err := in.Reload(""); err != nil {
			t.Fatalf("reload %d: %v\n%s", k, err, in.LogTail(20))
		}
		t.Logf("reload %d took %v", k, time.Since(start).Round(time.Millisecond))
	}
	rs := l.wait(t, 2*time.Minute)
	t.Logf("load during %d reloads: %s", reloads, tally(rs))
	requireAllOK(t, "requests during reloads", rs)

	resent, posts := map[string]int{}, map[string]int{}
	for _, r := range rs {
		site := "authgate"
		if strings.HasPrefix(r.kind, "plain") {
			site = "plain"
		}
		if strings.Contains(r.kind, "POST") {
			posts[site]++
		}
		if len(r.retried) == 0 {
			continue
		}
		resent[site]++
		t.Logf("resent %s %s after: %s", r.kind, r.id, strings.Join(r.retried, "; "))
		for i := range r.retried {
			if _, ok := up.reached(r.id, i+1); ok {
				t.Errorf("%s %s: attempt %d failed (%s) after it had reached the upstream: a handled request was lost",
					r.kind, r.id, i+1, r.retried[i])
			}
		}
	}
	t.Logf("requests resent after their connection failed unanswered: authgate site %d (of %d POSTs), plain site %d (of %d POSTs)",
		resent["authgate"], posts["authgate"], resent["plain"], posts["plain"])

	// The sessions made before the reloads still work, with the token
	// (verified in process) and with the refresh credential (the store).
	for _, u := range users {
		for _, c := range []*http.Cookie{u.session, u.client} {
			req, _ := gateGET(in.site, "/app", c)()
			if r := send(plainClient, req); r.err != nil || r.status != http.StatusOK {
				t.Fatalf("session of %s with %s after reloads: %s", u.email, c.Name, r)
			}
		}
		if got := in.sessions(t, u.userID); len(got) != 1 || got[0].ID != u.sessionID || got[0].Status != "active" {
			t.Fatalf("sessions of %s after reloads: %+v, want [%s active]", u.email, got, u.sessionID)
		}
	}
}
