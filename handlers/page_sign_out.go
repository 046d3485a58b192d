package handlers

import "net/http"

// The sign-out page: GET asks, POST signs the browser out of every
// session of its client.

func (s *Server) signOutPage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		d := s.newPage(r, "Sign out", "")
		d.Lead = "Sign out of " + s.cfg.AppName + " on this device?"
		// Who is signed in is only shown: a store error leaves it out.
		if id, err := s.identify(w, r); err == nil && id != nil {
			d.Account = id.Email
			if d.Account == "" {
				d.Account = id.Phone
			}
			if d.Account == "" {
				d.Account = id.Username
			}
		}
		s.render(w, r, http.StatusOK, "sign_out", d)
		return
	}
	if _, err := s.signOutClient(r); err != nil {
		s.failPage(w, r, err)
		return
	}
	s.clearSessionCookie(w, r)
	s.newCSRFCookie(w, r)
	w.Header().Set("Clear-Site-Data", `"cache"`)
	seeOther(w, r, s.signInURL(""))
}
