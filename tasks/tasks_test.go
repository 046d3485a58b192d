package tasks

import "testing"

func TestDecide(t *testing.T) {
	builtin := NewRouter("/__authgate", nil)
	upstream := NewRouter("/__authgate", map[string]string{ResetPassword: "/account/reset"})
	for _, tc := range []struct {
		name       string
		r          *Router
		path       string
		navigation bool
		want       Decision
	}{
		{"navigation to the app", builtin, "/orders", true, Decision{Outcome: Redirect, Location: "/__authgate/tasks/reset-password?redirect_url=%2Forders%3Fa%3D1", Tasks: []string{ResetPassword}}},
		{"api call", builtin, "/api/x", false, Decision{Outcome: Forbid, Location: "/__authgate/tasks/reset-password", Tasks: []string{ResetPassword}}},
		{"upstream task page", upstream, "/account/reset", true, Decision{Outcome: Pass, Tasks: []string{ResetPassword}}},
		{"upstream task page by api", upstream, "/account/reset", false, Decision{Outcome: Pass, Tasks: []string{ResetPassword}}},
		{"other upstream page", upstream, "/account/settings", true, Decision{Outcome: Redirect, Location: "/account/reset?redirect_url=%2Forders%3Fa%3D1", Tasks: []string{ResetPassword}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.r.Decide([]string{ResetPassword}, tc.path, "/orders?a=1", tc.navigation)
			if got.Outcome != tc.want.Outcome || got.Location != tc.want.Location || len(got.Tasks) != 1 || got.Tasks[0] != ResetPassword {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWithRedirectKeepsExistingQuery(t *testing.T) {
	if got := WithRedirect("/t?x=1", "/a b"); got != "/t?x=1&redirect_url=%2Fa+b" {
		t.Fatalf("got %q", got)
	}
}
