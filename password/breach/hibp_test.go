package breach

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/password"
)

func TestHIBPRangeProtocol(t *testing.T) {
	f, srv := newFake(t)
	f.add("listed-upper", "3730471", false)
	f.add("listed-lower", "12", true)
	f.add("padding-only", "0", false) // a count-0 row for this hash: not breached
	f.add("junk-line-too", "7", false)
	h := sha1Hex("junk-line-too")
	f.rows[h[:5]] = append([]string{"not a row", "ZZZZZ:1", h[5:15] + ":9", h[5:] + ":x", ":", ""}, f.rows[h[:5]]...)

	c := HIBP(srv.URL+"/", WithHTTPClient(srv.Client()))
	tests := map[string]bool{
		"listed-upper":  true,
		"listed-lower":  true,
		"padding-only":  false,
		"not-listed":    false,
		"junk-line-too": true,
	}
	for pw, want := range tests {
		got, err := c.Breached(context.Background(), pw)
		if err != nil || got != want {
			t.Errorf("Breached(%q) = %v, %v; want %v, nil", pw, got, err, want)
		}
	}
	// Nothing but the 5-digit prefix of any hash was sent.
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != len(tests) {
		t.Fatalf("%d requests, want %d", len(f.requests), len(tests))
	}
	for _, r := range f.requests {
		dump := r.URL.String() + fmt.Sprint(r.Header)
		for pw := range tests {
			full := sha1Hex(pw)
			if strings.Contains(strings.ToUpper(dump), full[5:15]) {
				t.Errorf("request %q leaks part of the suffix of %q", dump, pw)
			}
		}
	}
}

func TestHIBPCache(t *testing.T) {
	f, srv := newFake(t)
	f.add("cached-password", "5", false)
	clk := testenv.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	c := HIBP(srv.URL, WithHTTPClient(srv.Client()), WithClock(clk.Now), WithCache(5*time.Minute, 2))
	ctx := context.Background()

	for range 3 {
		if ok, err := c.Breached(ctx, "cached-password"); err != nil || !ok {
			t.Fatalf("Breached = %v, %v", ok, err)
		}
	}
	if n := f.count.Load(); n != 1 {
		t.Fatalf("%d requests for one range within the TTL, want 1", n)
	}
	clk.Advance(5*time.Minute + time.Second)
	if ok, err := c.Breached(ctx, "cached-password"); err != nil || !ok {
		t.Fatalf("Breached after expiry = %v, %v", ok, err)
	}
	if n := f.count.Load(); n != 2 {
		t.Fatalf("%d requests after expiry, want 2", n)
	}
	// Size bound: two more ranges evict the first (capacity 2).
	for _, pw := range []string{"other-one", "other-two"} {
		if sha1Hex(pw)[:5] == sha1Hex("cached-password")[:5] {
			t.Fatal("test passwords share a prefix; pick others")
		}
		if _, err := c.Breached(ctx, pw); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Breached(ctx, "cached-password"); err != nil {
		t.Fatal(err)
	}
	if n := f.count.Load(); n != 5 {
		t.Fatalf("%d requests, want 5 (evicted range fetched again)", n)
	}
	c.mu.Lock()
	cached := c.lru.Len()
	c.mu.Unlock()
	if cached != 2 {
		t.Fatalf("%d ranges cached, want at most 2", cached)
	}
}

// Concurrent checks of one range share one request.
func TestHIBPSharedRequest(t *testing.T) {
	release := make(chan struct{})
	f, srv := newFakeWrapped(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			<-release
			h.ServeHTTP(w, r)
		})
	})
	f.add("popular", "9", false)
	c := HIBP(srv.URL, WithHTTPClient(srv.Client()))
	// The request is held until all 20 callers wait on it, so none can be
	// served by a finished request or the cache instead.
	var waiting sync.WaitGroup
	waiting.Add(20)
	c.waitHook = waiting.Done
	var wg sync.WaitGroup
	results := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			ok, err := c.Breached(context.Background(), "popular")
			if err == nil && !ok {
				err = errors.New("not breached")
			}
			results <- err
		})
	}
	waiting.Wait()
	close(release)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := f.count.Load(); n != 1 {
		t.Fatalf("%d requests for 20 concurrent checks of one range, want 1", n)
	}
}

// C-10: every failure is an error (the caller refuses), never "not breached".
func TestHIBPFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		extra   error
	}{
		{"500", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, nil},
		{"429", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}, nil},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, context.DeadlineExceeded},
		{"html instead of ranges", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "<html><body>captive portal</body></html>\n")
		}, nil},
		{"only malformed lines", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "0018A45C4D1DEF81644B54AB7F969B88D6:1\r\nGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGGG:2\r\nnot-a-line\r\n")
		}, nil},
		{"empty body", func(w http.ResponseWriter, r *http.Request) {}, nil},
		{"oversized body", func(w http.ResponseWriter, r *http.Request) {
			line := strings.Repeat("A", 35) + ":1\r\n"
			for range (maxRangeResponseBytes / len(line)) + 10 {
				fmt.Fprint(w, line)
			}
		}, nil},
		{"very long line only", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, strings.Repeat("A", 10000)+":1\r\n")
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			c := HIBP(srv.URL, WithHTTPClient(srv.Client()), WithTimeout(100*time.Millisecond))
			ok, err := c.Breached(context.Background(), "any password at all")
			if ok || !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Breached = %v, %v; want false, ErrUnavailable", ok, err)
			}
			if tc.extra != nil && !errors.Is(err, tc.extra) {
				t.Fatalf("error %v does not wrap %v", err, tc.extra)
			}
		})
	}
}

func TestHIBPConnectionRefusedAndRecovery(t *testing.T) {
	f, srv := newFake(t)
	f.down.Store(true)
	f.add("flaky", "1", false)
	c := HIBP(srv.URL, WithHTTPClient(srv.Client()))
	if _, err := c.Breached(context.Background(), "flaky"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Breached with 503 = %v, want ErrUnavailable", err)
	}
	f.down.Store(false) // failures are not cached
	if ok, err := c.Breached(context.Background(), "flaky"); err != nil || !ok {
		t.Fatalf("Breached after recovery = %v, %v; want true, nil", ok, err)
	}

	dead := HIBP("http://127.0.0.1:1", WithTimeout(time.Second))
	if _, err := dead.Breached(context.Background(), "x"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Breached with nothing listening = %v, want ErrUnavailable", err)
	}
}

func TestHIBPCallerContext(t *testing.T) {
	// The handler hangs until the client gives up: a GET has no body to
	// read, so the server notices the closed connection and cancels the
	// request's context, and Close does not wait on it.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	c := HIBP(srv.URL, WithHTTPClient(srv.Client()), WithTimeout(10*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ok, err := c.Breached(ctx, "whatever")
	if ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Breached = %v, %v; want false, context.DeadlineExceeded", ok, err)
	}
}

func TestHIBPDefaults(t *testing.T) {
	c := HIBP("")
	if c.base != DefaultHIBPURL || c.timeout != 3*time.Second || c.ttl != 5*time.Minute || c.maxRanges != DefaultHIBPCacheSize {
		t.Fatalf("defaults = %q %v %v %d", c.base, c.timeout, c.ttl, c.maxRanges)
	}
}

// C-7 with HIBP: a password policy refuses a password the (fake) Pwned
// Passwords API lists, and any password while the API is down.
func TestPolicyWithHIBP(t *testing.T) {
	const pw = "Tr0ub4dor&3 is famous"
	f, srv := newFake(t)
	f.add(pw, "42", false)
	p := password.Policy{Breach: Any(Common(), HIBP(srv.URL, WithHTTPClient(srv.Client())))}
	if err := p.Check(context.Background(), pw, nil); !errors.Is(err, password.ErrPwned) {
		t.Fatalf("Check(listed) = %v, want ErrPwned", err)
	}
	if err := p.Check(context.Background(), "password-vault-orchid-7", nil); err != nil {
		t.Fatalf("Check(unlisted) = %v, want nil", err)
	}
	srv.Close()
	if err := p.Check(context.Background(), "another passphrase entirely", nil); !errors.Is(err, password.ErrBreachUnavailable) {
		t.Fatalf("Check with HIBP down = %v, want ErrBreachUnavailable", err)
	}
}

func TestAny(t *testing.T) {
	f, srv := newFake(t)
	f.add("only-remote", "4", false)
	remote := HIBP(srv.URL, WithHTTPClient(srv.Client()))
	a := Any(Common(), nil, remote)
	ctx := context.Background()
	if ok, err := a.Breached(ctx, "password"); err != nil || !ok {
		t.Fatalf("Any(common) = %v, %v", ok, err)
	}
	if n := f.count.Load(); n != 0 {
		t.Fatalf("remote asked %d times although the common list matched", n)
	}
	if ok, err := a.Breached(ctx, "only-remote"); err != nil || !ok {
		t.Fatalf("Any(remote) = %v, %v", ok, err)
	}
	srv.Close()
	if _, err := a.Breached(ctx, "neither-list-has-this"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Any with remote down = %v, want ErrUnavailable", err)
	}
}
