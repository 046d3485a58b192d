package handlers_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/authgate/authgate/handlers"
)

// The way back in for a user who lost the phone: an administrator removes
// every second factor, and the password alone signs in again.
func TestAdminDisableMFA(t *testing.T) {
	e, u := aliceEnv(t, withMFA(mfaDefaults))
	e.aliceWithTOTP()
	admin := httptest.NewServer(handlers.NewAdmin(handlers.AdminDeps{
		Users: e.eng.Users, Sessions: e.eng.Sessions, SignIn: e.eng.SignIn, Tokens: e.eng.Tokens, Events: e.eng.Events,
	}))
	t.Cleanup(admin.Close)
	call := func(method, path string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, admin.URL+handlers.AdminPrefix+path, nil)
		res, err := admin.Client().Do(req)
		noErr(t, err)
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
			t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, err)
		}
		return out
	}
	if got := flags(call(http.MethodGet, "/users/"+u.ID)); got != [3]any{true, true, true} {
		t.Fatalf("admin user JSON before: %v", got)
	}
	if got := flags(call(http.MethodDelete, "/users/"+u.ID+"/mfa")); got != [3]any{false, false, false} {
		t.Fatalf("admin user JSON after disable-mfa: %v", got)
	}
	e.browser().signIn("alice@example.com", alicePW)
}
