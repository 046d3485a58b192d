package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/authgate/authgate/handlers"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/guard"
	"github.com/authgate/authgate/users"
)

// A hung store answers fast (issue 9 §6): the gate gives all its store
// work 500 ms, then fails closed with 503 and Retry-After; and an outage
// does not write an error line per request.

// hungStore is a store whose reads never answer: Get blocks until its
// caller gives up, as a SIGSTOPped Redis does, and returns what the
// cancelled call returns (a bare context error: no guard in between).
// Other methods are nil and would panic: the gate only reads.
type hungStore struct {
	store.Store
	reads atomic.Int32
}

func (s *hungStore) Get(ctx context.Context, _ string) ([]byte, error) {
	s.reads.Add(1)
	<-ctx.Done()
	return nil, ctx.Err()
}

// breakerOpenStore is a store behind an open circuit breaker: every read fails
// at once with the breaker's wait.
type breakerOpenStore struct{ store.Store }

func (breakerOpenStore) Get(context.Context, string) ([]byte, error) {
	return nil, &guard.OpenError{Op: "get", Wait: 7 * time.Second}
}

// outageServer is e's site with users and sessions on st, logging into
// the returned observer.
func (e *env) outageServer(st store.Store) (*handlers.Server, *observer.ObservedLogs) {
	logger, logs := observedLogger()
	d := e.deps()
	d.Users = users.NewService(st, e.eng.Passwords, nil)
	d.Sessions = session.NewManager(st, time.Hour, nil)
	d.Logger = logger
	return handlers.New(handlers.Config{Prefix: "/__authgate", SignInURL: "/__authgate/sign-in"}, d), logs
}

// gate sends one request through srv's gate with the cookie, under a
// safety deadline so that a gate without a budget fails instead of
// hanging; it returns the answer and how long it took.
func (e *env) gate(srv *handlers.Server, cookie string) (*httptest.ResponseRecorder, time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	// At the env's own origin, the issuer of its tokens.
	req := httptest.NewRequest(http.MethodGet, e.http.URL+"/app", nil).WithContext(ctx)
	req.Header.Set("Cookie", cookie)
	rec := httptest.NewRecorder()
	start := time.Now()
	srv.Gate(rec, req)
	return rec, time.Since(start)
}

func TestGateAnswersFastWhenTheStoreHangs(t *testing.T) {
	e, b := aliceSignedIn(t)
	st := &hungStore{}
	srv, logs := e.outageServer(st)
	for _, tc := range []struct{ name, cookie string }{
		// An expired or dropped token: the refresh reads the client.
		{"client only", handlers.CookieClient + "=" + b.jarCookie(handlers.CookieClient)},
		// A valid token not cached yet: the gate loads its user.
		{"session token", handlers.CookieSession + "=" + b.jarCookie(handlers.CookieSession)},
	} {
		before := st.reads.Load()
		rec, took := e.gate(srv, tc.cookie)
		if st.reads.Load() == before {
			t.Fatalf("%s: the gate never asked the store", tc.name)
		}
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "5" {
			t.Errorf("%s: %d, Retry-After %q, want 503 with 5; body %s", tc.name, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
		if took > 600*time.Millisecond {
			t.Errorf("%s: the gate answered after %v, want within 600ms", tc.name, took)
		}
	}
	if n := logs.FilterLevelExact(zapcore.ErrorLevel).Len(); n != 0 {
		t.Errorf("%d error lines for a store outage: %v", n, logs.All())
	}
}

func TestGateOutageTakesRetryAfterFromTheErrorAndDoesNotFloodTheLog(t *testing.T) {
	e := newEnv(t)
	srv, logs := e.outageServer(breakerOpenStore{})
	const requests = 50
	for range requests {
		rec, _ := e.gate(srv, handlers.CookieClient+"=some0client0handle0of0the0right0length0")
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "7" {
			t.Fatalf("%d, Retry-After %q, want 503 with the breaker's 7", rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if n := logs.Filter(func(e observer.LoggedEntry) bool { return e.Level >= zapcore.WarnLevel }).Len(); n != 0 {
		t.Fatalf("%d warning or error lines for %d requests in one outage (the store guard logs it, throttled)", n, requests)
	}
	// Demoted, not lost: each still shows at Debug.
	if n := logs.FilterMessage("store unavailable").FilterLevelExact(zapcore.DebugLevel).Len(); n != requests {
		t.Fatalf("%d debug lines, want %d", n, requests)
	}
}
