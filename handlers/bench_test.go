package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkGateActiveSession measures the gate's decision for a signed-in
// request (the hot path: token check from the cache, headers set).
func BenchmarkGateActiveSession(b *testing.B) {
	e := newEnvTB(b)
	e.createUser("alice@example.com", "", alicePW)
	br := e.browser()
	br.signIn("alice@example.com", alicePW)
	u, _ := http.NewRequest(http.MethodGet, e.http.URL+"/", nil)
	cookies := br.jar.Cookies(u.URL)
	req := httptest.NewRequest(http.MethodGet, "/app", nil)
	req.Host = u.URL.Host
	for _, c := range cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	if v := e.srv.Gate(w, req); v.Identity == nil {
		b.Fatalf("not signed in: %d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := req.Clone(req.Context())
		if v := e.srv.Gate(w, r); v.Identity == nil {
			b.Fatal("lost the session")
		}
	}
}
