// Package tasks answers, in one place, the three questions about
// pending-session tasks:
//
//   - What makes a session pending? For: the tasks a new session of a user
//     starts with: reset-password when the password is compromised or an
//     admin required a reset, then setup-mfa when the deployment requires a
//     second factor and the user has none. Admin actions that pend live
//     sessions use the same keys.
//   - Where does it go? Router: each task key's URL (configured with
//     task_url, else {prefix}/tasks/{key}), FirstURL for the page a pending
//     session is sent to, and Decide, the gate's decision for a request made
//     with a pending session (public paths and task pages pass, navigations
//     are redirected, everything else is refused).
//   - What clears it? Completes: the tasks an event (a new password set, a
//     second factor added) finishes; a session whose last task is finished
//     becomes active.
//
// ValidKey is the grammar of a task key, used by the Caddyfile parser.
package tasks

import (
	"fmt"
	"regexp"
	"slices"
)

// The task keys (Clerk's names).
const (
	// ResetPassword is the task of a user who must set a new password
	// before the session becomes active.
	ResetPassword = "reset-password"
	// SetupMFA is the task of a user who must add a second factor (the
	// deployment requires one) before the session becomes active.
	SetupMFA = "setup-mfa"
)

// Known lists the task keys authgate can assign, in the order a pending
// session works through them: a new password first, so that the second
// factor is set up on an account whose password is the user's own.
var Known = []string{ResetPassword, SetupMFA}

// Account is what For needs to know about a user.
type Account interface {
	// NeedsReset reports a compromised password or an admin-required reset.
	NeedsReset() bool
	// HasSecondFactor reports a second factor the user can sign in with
	// (an authenticator app, or a reserved phone when SMS codes are on).
	HasSecondFactor() bool
}

// Policy is the deployment's rules for new sessions.
type Policy struct {
	// RequireSecondFactor is `mfa { required on }`: a user without a
	// second factor gets the setup-mfa task.
	RequireSecondFactor bool
}

// For returns the tasks a new session of u starts with, in Known's order;
// a session with tasks is pending. nil means the session is active at
// once.
func For(u Account, p Policy) []string {
	if u == nil {
		return nil
	}
	var out []string
	if u.NeedsReset() {
		out = append(out, ResetPassword)
	}
	if p.RequireSecondFactor && !u.HasSecondFactor() {
		out = append(out, SetupMFA)
	}
	return out
}

// Event is something a user did that may finish tasks.
type Event string

// Events.
const (
	// PasswordSet: the user set a new password (task page, change_password
	// or a reset by code).
	PasswordSet Event = "password_set"
	// SecondFactorAdded: the user verified a new authenticator app, or
	// reserved a phone for SMS codes while those are on.
	SecondFactorAdded Event = "second_factor_added"
)

// Completes returns the task keys that event e finishes.
func Completes(e Event) []string {
	switch e {
	case PasswordSet:
		return []string{ResetPassword}
	case SecondFactorAdded:
		return []string{SetupMFA}
	}
	return nil
}

// Has reports whether keys holds key.
func Has(keys []string, key string) bool { return slices.Contains(keys, key) }

// keyGrammar: lowercase words joined by single hyphens, starting with a
// letter (reset-password, setup-mfa).
var keyGrammar = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)

// ValidKey checks the grammar of a task key such as reset-password. It
// does not require the key to be Known: a Caddyfile may name a task URL
// for a task a later version assigns.
func ValidKey(v string) error {
	if len(v) > 64 || !keyGrammar.MatchString(v) {
		return fmt.Errorf("invalid task key %q (want lowercase words joined by hyphens, like reset-password)", v)
	}
	return nil
}
