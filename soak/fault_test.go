//go:build soak

package soak

// What the store-fault suites share: a load that mixes requests that
// need the store with ones that do not, the rules every answer must keep
// while the store is down, and the check that nothing written before a
// fault is gone after it.

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// outageLimit is how fast a request that needs the store must be
// answered 503 while the store is down or hung.
const outageLimit = time.Second

// adminWriteLimit is the same bound for admin API writes: store/guard
// gives a write 1 s (README "A hung store answers fast"), so against a
// hung Redis an admin create answers 503 just after 1 s. The gate and
// the Frontend API stay within outageLimit.
const adminWriteLimit = time.Second + 250*time.Millisecond

// limitFor is the outage answer bound of a request kind.
func limitFor(kind string) time.Duration {
	if kind == kindAdminUser {
		return adminWriteLimit
	}
	return outageLimit
}

// Request kinds of the fault mix.
const (
	kindRefresh   = "gate __client refresh" // needs the store; goes upstream when it passes
	kindToken     = "gate cached __session" // verified in process: passes while the store is down (until exp)
	kindAnonNav   = "gate anonymous nav"    // 303 to the sign-in page, no store needed
	kindAdminUser = "admin create user"     // a store write, acknowledged by 200
	kindClientAPI = "api GET /v1/client"    // needs the store
)

var emailSeq atomic.Int64

// faultMix is the load of the fault suites on instance in, over the
// signed-in users (their tokens already verified once by in).
func faultMix(in *instance, users []signedIn) func(i int) call {
	return func(i int) call {
		u := users[i%len(users)]
		switch i % 10 {
		case 0, 1, 2, 3:
			return call{kind: kindRefresh, needsStore: true, build: gateGET(in.site, "/app", u.client)}
		case 4, 5:
			return call{kind: kindToken, build: gateGET(in.site, "/app", u.session)}
		case 6:
			return call{kind: kindAnonNav, build: func() (*http.Request, error) {
				req, err := http.NewRequest(http.MethodGet, in.site+"/app/page", nil)
				if err == nil {
					req.Header.Set("Accept", "text/html")
				}
				return req, err
			}}
		case 7, 8:
			return call{kind: kindAdminUser, needsStore: true, build: func() (*http.Request, error) {
				email := fmt.Sprintf("load-%d@example.com", emailSeq.Add(1))
				return adminPOST(in, "/users", userBody(email, false))()
			}}
		default:
			return call{kind: kindClientAPI, needsStore: true, build: func() (*http.Request, error) {
				req, err := http.NewRequest(http.MethodGet, in.site+"/__authgate/v1/client", nil)
				if err == nil {
					req.AddCookie(u.client)
				}
				return req, err
			}}
		}
	}
}

// ackedUsers returns the ids of the users whose create got 200 (read
// from the start of the answer, which is all a load result keeps).
func ackedUsers(t *testing.T, rs []result) []string {
	t.Helper()
	var ids []string
	for _, r := range rs {
		if r.kind != kindAdminUser || r.err != nil || r.status != http.StatusOK {
			continue
		}
		m := userIDRE.FindSubmatch(r.body)
		if m == nil {
			t.Fatalf("acknowledged create without a user id: %s", r.reply)
		}
		ids = append(ids, string(m[1]))
	}
	return ids
}

// userIDRE finds a user object's id.
var userIDRE = regexp.MustCompile(`"id":"(user_[0-9a-z]+)"`)

// outage is when the store was known to be down: from the moment the
// fault was in place to the moment the repair began.
type outage struct{ from, to time.Time }

// during reports whether r ran entirely inside the outage.
func (o outage) during(r result) bool { return !r.start.Before(o.from) && !r.end.After(o.to) }

// checkOutage applies the fail-closed rules to a load that ran across an
// outage and returns how many answers were 503:
//   - no transport error, and no status other than 2xx/3xx or 503;
//   - every 503 carries Retry-After;
//   - a request that needs the store and ran inside the outage got 503
//     within outageLimit (adminWriteLimit for admin writes) and never
//     reached the upstream;
//   - a request started inside the outage that does not need the store
//     (a cached token, an anonymous navigation) still answers 2xx/3xx
//     or 503, as any other.
func checkOutage(t *testing.T, up *upstream, what string, rs []result, o outage) int {
	t.Helper()
	var bad []string
	n503 := 0
	fail := func(r result, why string) {
		if len(bad) < 15 {
			bad = append(bad, fmt.Sprintf("%s %s at %s (%v): %s: %s", r.kind, r.id,
				r.start.Format("15:04:05.000"), r.latency().Round(time.Millisecond), why, r.reply))
		} else if len(bad) == 15 {
			bad = append(bad, "...")
		}
	}
	for _, r := range rs {
		inside := o.during(r)
		switch {
		case r.err != nil:
			fail(r, "transport error")
		case r.ok():
			if r.needsStore && inside {
				fail(r, "answered 2xx/3xx while the store was down")
			}
		case r.status == http.StatusServiceUnavailable:
			n503++
			if r.header.Get("Retry-After") == "" {
				fail(r, "503 without Retry-After")
			}
			if !r.start.Before(o.from) && r.latency() > limitFor(r.kind) {
				fail(r, fmt.Sprintf("503 took longer than %v", limitFor(r.kind)))
			}
		default:
			fail(r, "neither 2xx/3xx nor 503")
		}
		if r.needsStore && inside && up.reachedAny(r.id) {
			fail(r, "reached the upstream while the store was down")
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%s: %d answers break the fail-closed rules (%s):\n  %s", what, len(bad), tally(rs), strings.Join(bad, "\n  "))
	}
	return n503
}

// awaitRecovery polls a request that needs the store (a refresh from
// __client) until it passes, and returns how long that took. While the
// store comes back it may answer 503; anything else fails the test.
func awaitRecovery(t *testing.T, in *instance, u signedIn, timeout time.Duration) time.Duration {
	t.Helper()
	var last reply
	took, ok := pollUntil(timeout, func() bool {
		req, _ := gateGET(in.site, "/app", u.client)()
		last = send(plainClient, req)
		if last.err != nil || (last.status != http.StatusOK && last.status != http.StatusServiceUnavailable) {
			t.Fatalf("while the store comes back: %s", last)
		}
		return last.status == http.StatusOK
	})
	if !ok {
		t.Fatalf("%s: no recovery within %v: %s\n%s", in.name, timeout, last, in.LogTail(10))
	}
	return took
}

// checkKept checks that every acknowledged user is still there and that
// every session still refreshes (the store read behind both).
func checkKept(t *testing.T, in *instance, users []signedIn, acked []string) {
	t.Helper()
	for _, id := range acked {
		r := in.adminDo(http.MethodGet, "/users/"+url.PathEscape(id), nil)
		if r.err != nil || r.status != http.StatusOK {
			t.Fatalf("acknowledged user %s is gone: %s", id, r)
		}
	}
	for _, u := range users {
		req, _ := gateGET(in.site, "/app", u.client)()
		req.Header.Set(reqIDHeader, "kept-"+u.sessionID)
		if r := send(plainClient, req); r.err != nil || r.status != http.StatusOK {
			t.Fatalf("session %s of %s after the fault: %s", u.sessionID, u.email, r)
		}
		if got, _ := in.up.seenAs("kept-" + u.sessionID); got != u.userID {
			t.Fatalf("session %s after the fault came through as user %q, want %s", u.sessionID, got, u.userID)
		}
	}
	t.Logf("kept: %d acknowledged users, %d sessions", len(acked), len(users))
}

// warmTokens sends each user's token once so the instance has verified
// and cached it.
func warmTokens(t *testing.T, in *instance, users []signedIn) {
	t.Helper()
	for _, u := range users {
		req, _ := gateGET(in.site, "/app", u.session)()
		if r := send(plainClient, req); r.err != nil || r.status != http.StatusOK {
			t.Fatalf("token of %s: %s", u.email, r)
		}
	}
}

// lockoutAttempts is the `lockout` of the fault suites' config: the
// failure counter behind it is the store counter the suites check.
const lockoutAttempts = 5

// countFailures makes n wrong-password sign-ins for email from fresh
// browsers (strangers: no known-device budget), each 422.
func countFailures(t *testing.T, in *instance, email string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		if sid, r := newBrowser(t).trySignIn(in.site, email, "wrong-Password-"+fmt.Sprint(i)); sid != "" || r.status != http.StatusUnprocessableEntity {
			t.Fatalf("wrong password %d for %s: %s, want 422", i+1, email, r)
		}
	}
}

// checkCounterKept checks that the lockout-attempts-1 failures counted
// before the fault are still counted: one more wrong password locks the
// account, and then the right password is refused too.
func checkCounterKept(t *testing.T, in *instance, email string) {
	t.Helper()
	sid, r := newBrowser(t).trySignIn(in.site, email, "wrong-Password-last")
	if sid != "" || r.status != http.StatusForbidden || r.errCode() != "user_locked" {
		t.Fatalf("failure %d for %s after the fault: %s, want 403 user_locked (the count before the fault is lost?)", lockoutAttempts, email, r)
	}
	if sid, r := newBrowser(t).trySignIn(in.site, email, testPassword); sid != "" || r.errCode() != "user_locked" {
		t.Fatalf("right password of a locked account: %s, want 403 user_locked", r)
	}
}

// awaitWrites polls an admin create until it is acknowledged and returns
// how long that took and the user; 503 meanwhile is fine, anything else
// fails the test.
func awaitWrites(t *testing.T, in *instance, timeout time.Duration) (time.Duration, string) {
	t.Helper()
	var last reply
	took, ok := pollUntil(timeout, func() bool {
		last = in.adminDo(http.MethodPost, "/users", userBody(fmt.Sprintf("probe-%d@example.com", emailSeq.Add(1)), false))
		if last.err != nil || (last.status != http.StatusOK && last.status != http.StatusServiceUnavailable) {
			t.Fatalf("while writes come back: %s", last)
		}
		return last.status == http.StatusOK
	})
	if !ok {
		t.Fatalf("%s: writes not back within %v: %s\n%s", in.name, timeout, last, in.LogTail(10))
	}
	var u userJSON
	last.decode(t, &u)
	return took, u.ID
}
