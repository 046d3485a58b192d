package handlers

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/store/bolt"
)

func openCSRFStore(t *testing.T) *bolt.Store {
	t.Helper()
	st, err := bolt.Open(filepath.Join(t.TempDir(), "authgate.db"))
	if err != nil {
		t.Fatalf("open bolt store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

const csrfTestCookie = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFE" // 43 base64url characters

func TestCSRFTokenRoundTripAndBinding(t *testing.T) {
	ctx := context.Background()
	k := &csrfKeys{secret.New(openCSRFStore(t), CSRFKeyName)}
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tok, err := k.token(ctx, csrfTestCookie, "/__authgate/sign-in", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.verify(ctx, tok, csrfTestCookie, "/__authgate/sign-in", now.Add(time.Hour)); err != nil {
		t.Fatalf("valid token refused: %v", err)
	}
	other := strings.Repeat("x", 43)
	cases := []struct {
		name            string
		tok, bind, path string
		at              time.Time
		want            error
	}{
		{"other browser", tok, other, "/__authgate/sign-in", now, errCSRFMismatch},
		{"other form", tok, csrfTestCookie, "/__authgate/sign-out", now, errCSRFMismatch},
		{"no cookie", tok, "", "/__authgate/sign-in", now, errCSRFNoCookie},
		{"no token", "", csrfTestCookie, "/__authgate/sign-in", now, errCSRFMissing},
		{"expired", tok, csrfTestCookie, "/__authgate/sign-in", now.Add(csrfMaxAge + time.Second), errCSRFExpired},
		{"from the future", tok, csrfTestCookie, "/__authgate/sign-in", now.Add(-csrfFutureSkew - time.Second), errCSRFExpired},
		{"no dot", strings.ReplaceAll(tok, ".", ""), csrfTestCookie, "/__authgate/sign-in", now, errCSRFMalformed},
		{"signed time", "+" + tok, csrfTestCookie, "/__authgate/sign-in", now, errCSRFMalformed},
		{"leading zero", "0" + tok, csrfTestCookie, "/__authgate/sign-in", now, errCSRFMalformed},
		{"padded signature", tok + "=", csrfTestCookie, "/__authgate/sign-in", now, errCSRFMalformed},
		{"short signature", tok[:len(tok)-4], csrfTestCookie, "/__authgate/sign-in", now, errCSRFMalformed},
		{"huge", strings.Repeat("1", 200), csrfTestCookie, "/__authgate/sign-in", now, errCSRFMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := k.verify(ctx, c.tok, c.bind, c.path, c.at)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if !isCSRFError(err) {
				t.Fatalf("%v is not recognised as a refusal", err)
			}
		})
	}
}

func TestCSRFKeyIsSharedThroughTheStore(t *testing.T) {
	ctx := context.Background()
	st := openCSRFStore(t)
	now := time.Now()
	// Instances starting at once agree on one key.
	keys := make([]*csrfKeys, 8)
	var wg sync.WaitGroup
	for i := range keys {
		keys[i] = &csrfKeys{secret.New(st, CSRFKeyName)}
		wg.Add(1)
		go func(k *csrfKeys) {
			defer wg.Done()
			if _, err := k.Get(ctx); err != nil {
				t.Error(err)
			}
		}(keys[i])
	}
	wg.Wait()
	tok, err := keys[0].token(ctx, csrfTestCookie, "/p", now)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if err := k.verify(ctx, tok, csrfTestCookie, "/p", now); err != nil {
			t.Fatalf("instance %d refuses instance 0's token: %v", i, err)
		}
	}
	// Another store, another key.
	elsewhere := &csrfKeys{secret.New(openCSRFStore(t), CSRFKeyName)}
	if err := elsewhere.verify(ctx, tok, csrfTestCookie, "/p", now); !errors.Is(err, errCSRFMismatch) {
		t.Fatalf("a token of another deployment: %v", err)
	}
}

func TestCSRFStoreDownIsNotARefusal(t *testing.T) {
	st := openCSRFStore(t)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	k := &csrfKeys{secret.New(st, CSRFKeyName)}
	_, err := k.token(context.Background(), csrfTestCookie, "/p", time.Now())
	if !errors.Is(err, store.ErrUnavailable) || isCSRFError(err) {
		t.Fatalf("got %v, want a store-unavailable error", err)
	}
}

func TestCSRFFetchMetadata(t *testing.T) {
	cases := []struct {
		name   string
		header map[string]string
		want   error
	}{
		{"no headers", nil, nil},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://app.example.com"}, nil},
		{"user typed", map[string]string{"Sec-Fetch-Site": "none"}, nil},
		{"cross site", map[string]string{"Sec-Fetch-Site": "cross-site"}, errCSRFSite},
		{"sibling subdomain", map[string]string{"Sec-Fetch-Site": "same-site"}, errCSRFSite},
		{"foreign origin", map[string]string{"Origin": "http://evil.example.com"}, errCSRFOrigin},
		{"other scheme", map[string]string{"Origin": "https://app.example.com"}, errCSRFOrigin},
		{"null origin of a no-referrer page", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "null"}, nil},
		{"null origin from another site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "null"}, errCSRFSite},
		{"empty origin", map[string]string{"Origin": ""}, errCSRFOrigin},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://app.example.com/__authgate/sign-in", nil)
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			if err := checkFetchSite(r); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	r := httptest.NewRequest(http.MethodPost, "http://app.example.com/__authgate/sign-in", nil)
	r.Header["Origin"] = []string{"http://app.example.com", "http://evil.example.com"}
	if err := checkFetchSite(r); !errors.Is(err, errCSRFOrigin) {
		t.Fatalf("two Origin headers: %v", err)
	}
}

func TestCSRFCookieValidation(t *testing.T) {
	for v, want := range map[string]bool{
		csrfTestCookie:                true,
		"":                            false,
		csrfTestCookie[:42]:           false,
		csrfTestCookie + "A":          false,
		strings.Repeat("+", 43):       false,
		strings.Repeat("a", 42) + "=": false,
	} {
		if got := validCSRFCookie(v); got != want {
			t.Errorf("validCSRFCookie(%q) = %v, want %v", v, got, want)
		}
	}
}

func TestCSRFCookieUsesHostPrefixOnHTTPS(t *testing.T) {
	s := &Server{cfg: Config{Prefix: "/__authgate"}}
	r := httptest.NewRequest(http.MethodGet, "https://app.example/__authgate/sign-in", nil)
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	v := s.newCSRFCookie(w, r)
	c := w.Result().Cookies()[0]
	if c.Name != CookieCSRFSecure || c.Path != "/" || !c.Secure || !c.HttpOnly || c.Domain != "" {
		t.Fatalf("https CSRF cookie: %+v", c)
	}
	r.AddCookie(&http.Cookie{Name: CookieCSRFSecure, Value: v})
	if csrfCookie(r) != v {
		t.Fatal("the __Host- cookie is not read back")
	}
	plain := httptest.NewRequest(http.MethodGet, "http://app.example/__authgate/sign-in", nil)
	plain.AddCookie(&http.Cookie{Name: CookieCSRFSecure, Value: v})
	if csrfCookie(plain) != "" {
		t.Fatal("on http the __Host- cookie must not count")
	}
}
