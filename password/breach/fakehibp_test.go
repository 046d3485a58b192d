package breach

// A fake of the Pwned Passwords range API that checks what it is asked
// (C-9) and answers from rows the test adds.

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// sha1Hex is the SHA-1 of pw in upper-case hex, as the API spells it.
func sha1Hex(pw string) string {
	s := sha1.Sum([]byte(pw))
	return strings.ToUpper(hex.EncodeToString(s[:]))
}

// fakeRange is a fake Pwned Passwords range API. rows maps a 5-digit prefix to
// its body lines; every response is preceded by padding rows.
type fakeRange struct {
	t        *testing.T
	mu       sync.Mutex
	rows     map[string][]string
	requests []*http.Request
	count    atomic.Int64
	// down makes it answer 503 Service Unavailable to every request (not
	// counted or recorded), as the API does in an outage.
	down atomic.Bool
}

var rangePath = regexp.MustCompile(`^/range/[0-9A-F]{5}$`)

func (f *fakeRange) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.down.Load() {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	f.count.Add(1)
	f.mu.Lock()
	f.requests = append(f.requests, r.Clone(context.Background()))
	f.mu.Unlock()
	// C-9: only the 5-hex-digit prefix, padding requested, nothing else sent.
	if r.Method != http.MethodGet || !rangePath.MatchString(r.URL.Path) || r.URL.RawQuery != "" {
		f.t.Errorf("unexpected request %s %s?%s", r.Method, r.URL.Path, r.URL.RawQuery)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	if got := r.Header.Get("Add-Padding"); got != "true" {
		f.t.Errorf("Add-Padding header = %q, want true", got)
	}
	if body, _ := io.ReadAll(r.Body); len(body) != 0 {
		f.t.Errorf("request has a body of %d bytes", len(body))
	}
	prefix := strings.TrimPrefix(r.URL.Path, "/range/")
	w.Header().Set("Content-Type", "text/plain")
	// Padding rows (count 0), as the real API adds with Add-Padding.
	for i := range 5 {
		fmt.Fprintf(w, "%035X:0\r\n", i+1)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, line := range f.rows[prefix] {
		fmt.Fprint(w, line+"\r\n")
	}
}

func newFake(t *testing.T) (*fakeRange, *httptest.Server) {
	return newFakeWrapped(t, func(h http.Handler) http.Handler { return h })
}

// newFakeWrapped serves the fake through wrap (to inject delays or faults).
func newFakeWrapped(t *testing.T, wrap func(http.Handler) http.Handler) (*fakeRange, *httptest.Server) {
	f := &fakeRange{t: t, rows: map[string][]string{}}
	srv := httptest.NewServer(wrap(f))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeRange) add(pw, count string, lower bool) {
	h := sha1Hex(pw)
	suffix := h[5:]
	if lower {
		suffix = strings.ToLower(suffix)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows[h[:5]] = append(f.rows[h[:5]], suffix+":"+count)
}
