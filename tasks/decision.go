package tasks

import "slices"

// Outcome is what the gate does with a pending session's request.
type Outcome int

// Outcomes.
const (
	// Pass lets the request through without identity: the upstream never
	// sees a pending user as signed in.
	Pass Outcome = iota
	// Redirect sends a navigation to the first task's URL (303).
	Redirect
	// Forbid answers 403 session_task_pending.
	Forbid
)

// Request is what the gate knows about a request made with a pending
// session.
type Request struct {
	// Tasks are the session's task keys.
	Tasks []string
	// Path is the request's path; Original its path and query, the
	// redirect_url to come back to.
	Path, Original string
	// Navigation is true for browser page loads.
	Navigation bool
	// Public is true when the path needs no session at all.
	Public bool
}

// Decision is the gate's decision for a pending session.
type Decision struct {
	Outcome Outcome
	// Location is the redirect target (Redirect) or the task URL (Forbid).
	Location string
	// Tasks are the session's task keys.
	Tasks []string
}

// Decide returns the decision for q. The order matters: public paths and
// the task pages themselves pass (or a pending user could never finish the
// task), then navigations are redirected and other requests refused.
func (r *Router) Decide(q Request) Decision {
	keys := slices.Clone(q.Tasks)
	if len(keys) == 0 {
		keys = []string{ResetPassword}
	}
	if q.Public || r.IsTaskPath(q.Path) {
		return Decision{Outcome: Pass, Tasks: keys}
	}
	if !q.Navigation {
		return Decision{Outcome: Forbid, Location: r.first(keys), Tasks: keys}
	}
	return Decision{Outcome: Redirect, Location: withRedirect(r.first(keys), q.Original), Tasks: keys}
}
