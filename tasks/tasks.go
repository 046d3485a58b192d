// Package tasks holds pending-session tasks: their keys, the URLs that
// complete them, and the gate's decision for a request made with a
// pending session.
package tasks

import (
	"net/url"
	"slices"
	"strings"
)

// ResetPassword is the task of a user who must set a new password before
// the session becomes active.
const ResetPassword = "reset-password"

// Known lists the task keys authgate can assign.
var Known = []string{ResetPassword}

// Router maps task keys to URLs.
type Router struct {
	urls  map[string]string
	paths map[string]bool
}

// NewRouter returns the task URLs of a site: the given ones, and
// {prefix}/tasks/{key} for every known key not given.
func NewRouter(prefix string, urls map[string]string) *Router {
	r := &Router{urls: map[string]string{}, paths: map[string]bool{}}
	for _, k := range Known {
		r.urls[k] = prefix + "/tasks/" + k
	}
	for k, u := range urls {
		r.urls[k] = u
	}
	for _, u := range r.urls {
		if p, err := url.Parse(u); err == nil && p.Path != "" {
			r.paths[p.Path] = true
		}
	}
	return r
}

// URL returns the URL of a task ("" when unknown).
func (r *Router) URL(key string) string { return r.urls[key] }

// IsTaskPath reports whether path is the path of a task URL; such paths
// stay reachable for pending sessions.
func (r *Router) IsTaskPath(path string) bool { return r.paths[path] }

// Outcome is what the gate does with a pending session's request.
type Outcome int

// Outcomes.
const (
	// Pass lets the request through without identity.
	Pass Outcome = iota
	// Redirect sends a navigation to the first task's URL (303).
	Redirect
	// Forbid answers 403 session_task_pending.
	Forbid
)

// Decision is the gate's decision for a pending session.
type Decision struct {
	Outcome Outcome
	// Location is the redirect target (Redirect) or the task URL (Forbid).
	Location string
	// Tasks are the session's task keys.
	Tasks []string
}

// Decide returns the decision for a request to path made with a pending
// session whose tasks are keys. original is the request's path and query
// (the redirect_url to come back to); navigation is true for browser
// page loads.
func (r *Router) Decide(keys []string, path, original string, navigation bool) Decision {
	if len(keys) == 0 {
		keys = []string{ResetPassword}
	}
	keys = slices.Clone(keys)
	if r.IsTaskPath(path) {
		return Decision{Outcome: Pass, Tasks: keys}
	}
	target := r.URL(keys[0])
	if target == "" {
		target = r.URL(ResetPassword)
	}
	if !navigation {
		return Decision{Outcome: Forbid, Location: target, Tasks: keys}
	}
	return Decision{Outcome: Redirect, Location: WithRedirect(target, original), Tasks: keys}
}

// WithRedirect adds redirect_url=back to target's query.
func WithRedirect(target, back string) string {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + "redirect_url=" + url.QueryEscape(back)
}
