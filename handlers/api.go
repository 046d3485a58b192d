package handlers

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
)

// The Clerk-shaped JSON API under the prefix: what every endpoint shares.
// The endpoints are in api_environment.go, api_client.go, api_sign_in.go,
// api_session.go and api_me.go; the JSON shapes in api_render.go.

// apiMiddleware applies the Origin check on state changes and no-store
// caching.
func (s *Server) apiMiddleware(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if o := r.Header.Get("Origin"); o == "" || o != origin(r) {
				apierr.Write(w, apierr.OriginInvalid)
				return
			}
		}
		h(w, r)
	})
}

// methodOverride turns POST ?_method=DELETE|PATCH|PUT (in any case)
// into that method (Clerk's Safari workaround). Any other _method, on
// any request, is refused with 405 rather than ignored: a request that
// asked for TRACE must not be served as the POST it was sent as. A
// request without _method is left alone.
func methodOverride(r *http.Request) *apierr.Error {
	if r.URL.RawQuery == "" {
		return nil // most requests: no query to parse
	}
	v, ok := r.URL.Query()["_method"]
	if !ok {
		return nil
	}
	m := ""
	if len(v) == 1 {
		m = strings.ToUpper(v[0])
	}
	switch m {
	case http.MethodDelete, http.MethodPatch, http.MethodPut:
		if r.Method == http.MethodPost {
			r.Method = m
		}
		return nil
	}
	return apierr.MethodNotAllowed.WithParam("_method").WithLongMessage("_method must be DELETE, PATCH or PUT.")
}

// respond writes {"response": v, "client": <client>}, with the new
// __client cookie when c was rotated while serving the request (a
// sign-in or a completed task), also when rendering fails: the old handle
// is dead already.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, c *session.Client, v any) {
	if cj, ok := s.sendClient(w, r, c); ok {
		writeJSON(w, http.StatusOK, map[string]any{"response": v, "client": cj})
	}
}

// sendClient sends the new __client cookie when c was rotated and
// renders c for the body; when rendering fails it answers the error
// instead and reports false.
func (s *Server) sendClient(w http.ResponseWriter, r *http.Request, c *session.Client) (*clientJSON, bool) {
	s.sendRotated(w, r, c)
	cj, err := s.renderClient(r.Context(), r, c)
	if err != nil {
		s.writeErr(w, r, err)
		return nil, false
	}
	return cj, true
}

// writeJSON writes v; an error writing the body is the connection's, and
// nothing can be answered about it any more.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
