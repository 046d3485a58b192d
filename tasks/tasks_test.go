package tasks

import (
	"slices"
	"testing"
)

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

type account struct{ reset, second bool }

func (a account) NeedsReset() bool      { return a.reset }
func (a account) HasSecondFactor() bool { return a.second }

func TestForAndCompletes(t *testing.T) {
	required := Policy{RequireSecondFactor: true}
	for _, tc := range []struct {
		name string
		a    Account
		p    Policy
		want []string
	}{
		{"needs reset", account{reset: true}, Policy{}, []string{ResetPassword}},
		{"fine", account{}, Policy{}, nil},
		{"no second factor, not required", account{}, Policy{}, nil},
		{"no second factor, required", account{}, required, []string{SetupMFA}},
		{"second factor, required", account{second: true}, required, nil},
		{"both, reset first", account{reset: true}, required, []string{ResetPassword, SetupMFA}},
		{"no user", nil, required, nil},
	} {
		if got := For(tc.a, tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("%s: For = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := Completes(PasswordSet); !slices.Equal(got, []string{ResetPassword}) {
		t.Fatalf("Completes(PasswordSet) = %v", got)
	}
	if got := Completes(SecondFactorAdded); !slices.Equal(got, []string{SetupMFA}) {
		t.Fatalf("Completes(SecondFactorAdded) = %v", got)
	}
	if got := Completes(Event("other")); got != nil {
		t.Fatalf("Completes(other) = %v", got)
	}
}

// TestSetupMFARoutes: the new task has its default URL under the prefix,
// a task_url for it moves it, and the gate sends a pending session there
// (after reset-password when both are pending).
func TestSetupMFARoutes(t *testing.T) {
	builtin := NewRouter("/__authgate", nil)
	if got := builtin.URL(SetupMFA); got != "/__authgate/tasks/setup-mfa" {
		t.Fatalf("default setup-mfa URL %q", got)
	}
	moved := NewRouter("/__authgate", map[string]string{SetupMFA: "/account/mfa"})
	d := moved.Decide(Request{Tasks: []string{SetupMFA}, Path: "/orders", Original: "/orders", Navigation: true})
	if d.Outcome != Redirect || d.Location != "/account/mfa?redirect_url=%2Forders" {
		t.Fatalf("navigation: %+v", d)
	}
	if d := moved.Decide(Request{Tasks: []string{SetupMFA}, Path: "/account/mfa", Navigation: true}); d.Outcome != Pass {
		t.Fatalf("the task page itself: %+v", d)
	}
	d = moved.Decide(Request{Tasks: []string{SetupMFA}, Path: "/api", Original: "/api"})
	if d.Outcome != Forbid || !slices.Equal(d.Tasks, []string{SetupMFA}) || d.Location != "/account/mfa" {
		t.Fatalf("api call: %+v", d)
	}
	d = builtin.Decide(Request{Tasks: []string{ResetPassword, SetupMFA}, Path: "/x", Original: "/x", Navigation: true})
	if d.Location != "/__authgate/tasks/reset-password?redirect_url=%2Fx" {
		t.Fatalf("both tasks: %+v, want reset-password first", d)
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
