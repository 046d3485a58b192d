package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// Sessions after sign-out.

func TestSignedOutSessionCannotBeRevivedThroughTheSignInAttempt(t *testing.T) {
	e, _ := aliceEnv(t)
	b, r := e.aliceBrowser()
	id := r.str("id")
	expect(t, b.do(http.MethodDelete, "/__authgate/v1/client", nil, nil), 200, "")
	e.clock.Advance(2 * time.Minute) // past the token lifetime
	r = b.get("/__authgate/v1/client/sign_ins/"+id, nil)
	if strings.Contains(r.header.Get("Set-Cookie"), "__session=ey") {
		t.Fatal("reading a completed sign-in minted a token")
	}
	expect(t, b.get("/api/data", nil), 401, "authentication_invalid")
}
