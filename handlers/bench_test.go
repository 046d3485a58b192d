package handlers_test

import (
	"net/http/httptest"
	"testing"
)

// BenchmarkGateActiveSession measures what the gate adds to a signed-in
// request (the hot path): strip X-Authgate-*, read the cookies, the
// token's identity from the cache, set the identity headers, strip
// __client from the Cookie header (sent as a browser sends it, and as
// scripts/bench-gate.sh does: "__session=...; __client_uat=...;
// __client=..."). The
// request is reused, its Cookie line restored each time, so the numbers
// are the gate's alone (no request clone).
func BenchmarkGateActiveSession(b *testing.B) {
	benchGate(b, nil)
}

// BenchmarkGateActiveSessionNoHeaders is the same with identity_headers
// empty: no identity header is sent.
func BenchmarkGateActiveSessionNoHeaders(b *testing.B) {
	benchGate(b, []string{})
}

func benchGate(b *testing.B, identityHeaders []string) {
	e := newEnvTB(b)
	e.alice()
	br, _ := e.aliceBrowser()
	site := newGateSite(e, br, identityHeaders)
	r := site.request(nil)
	site.gate(b, r) // caches the token
	cookie := r.Header["Cookie"][:1:1]
	w := httptest.NewRecorder()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		cookie[0] = site.cookie
		r.Header["Cookie"] = cookie
		if v := site.srv.Gate(w, r); v.Identity == nil {
			b.Fatal("lost the session")
		}
	}
}
