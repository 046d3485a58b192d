package tasks

import (
	"net/url"
	"strings"
)

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

// first is the URL of the first of keys that has one. A session pending
// with no key (an old record) is treated as reset-password, the only task
// such records could hold.
func (r *Router) first(keys []string) string {
	for _, k := range keys {
		if u := r.URL(k); u != "" {
			return u
		}
	}
	return r.URL(ResetPassword)
}

// FirstURL is the page a pending session with tasks keys is sent to, with
// redirect_url=back. Coming back to the task page itself does not nest it.
func (r *Router) FirstURL(keys []string, back string) string {
	u := r.first(keys)
	if back == "" {
		return u
	}
	if b, err := url.Parse(back); err == nil {
		if t, err := url.Parse(u); err == nil && t.Path == b.Path {
			return back
		}
	}
	return withRedirect(u, back)
}

// withRedirect adds redirect_url=back to target's query. (handlers has
// the same rule for the sign-in URL; tasks cannot import handlers.)
func withRedirect(target, back string) string {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + "redirect_url=" + url.QueryEscape(back)
}
