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
			got := tc.r.Decide(Request{Tasks: []string{ResetPassword}, Path: tc.path, Original: "/orders?a=1", Navigation: tc.navigation})
			if got.Outcome != tc.want.Outcome || got.Location != tc.want.Location || len(got.Tasks) != 1 || got.Tasks[0] != ResetPassword {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestWithRedirectKeepsExistingQuery(t *testing.T) {
	if got := withRedirect("/t?x=1", "/a b"); got != "/t?x=1&redirect_url=%2Fa+b" {
		t.Fatalf("got %q", got)
	}
}

type account bool

func (a account) NeedsReset() bool { return bool(a) }

func TestForAndCompletes(t *testing.T) {
	if got := For(account(true)); len(got) != 1 || got[0] != ResetPassword {
		t.Fatalf("For(needs reset) = %v", got)
	}
	if got := For(account(false)); got != nil {
		t.Fatalf("For(fine) = %v, want none", got)
	}
	if got := Completes(PasswordSet); !Has(got, ResetPassword) {
		t.Fatalf("Completes(PasswordSet) = %v", got)
	}
	if got := Completes(Event("other")); got != nil {
		t.Fatalf("Completes(other) = %v", got)
	}
}

func TestValidKey(t *testing.T) {
	for _, k := range []string{"reset-password", "setup-mfa", "a1"} {
		if err := ValidKey(k); err != nil {
			t.Errorf("ValidKey(%q) = %v", k, err)
		}
	}
	for _, k := range []string{"", "Reset", "-a", "a--b", "a-", "1a", "a_b"} {
		if ValidKey(k) == nil {
			t.Errorf("ValidKey(%q) accepted", k)
		}
	}
}

func TestFirstURL(t *testing.T) {
	r := NewRouter("/__authgate", map[string]string{"other": "/o"})
	for _, tc := range []struct {
		keys       []string
		back, want string
	}{
		{nil, "", "/__authgate/tasks/reset-password"},
		{[]string{ResetPassword}, "/x", "/__authgate/tasks/reset-password?redirect_url=%2Fx"},
		{[]string{"unknown", "other"}, "/x", "/o?redirect_url=%2Fx"},
		{[]string{ResetPassword}, "/__authgate/tasks/reset-password?redirect_url=%2Fy", "/__authgate/tasks/reset-password?redirect_url=%2Fy"},
	} {
		if got := r.FirstURL(tc.keys, tc.back); got != tc.want {
			t.Errorf("FirstURL(%v, %q) = %q, want %q", tc.keys, tc.back, got, tc.want)
		}
	}
}

func TestDecidePublicPasses(t *testing.T) {
	r := NewRouter("/__authgate", nil)
	d := r.Decide(Request{Tasks: []string{ResetPassword}, Path: "/healthz", Navigation: true, Public: true})
	if d.Outcome != Pass {
		t.Fatalf("public path: %+v", d)
	}
}
