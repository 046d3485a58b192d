package handlers

import (
	"net/http"

	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
)

// runFlow is what every sign-in and sign-up endpoint does around its call
// of the flow: read the form and the caller's client, run call, then
// answer the attempt in the {response, client} envelope.
//
// needClient creates the client when there is none (starting a sign-in
// or a sign-up); otherwise a caller without one has no attempt to find,
// and notFound (the flow's own) is the answer. answer renders the result
// and names the session this very request completed the attempt with
// (nil when it did not): only that request sets the session cookie and
// mints, so reading a completed attempt later never does. Creating the
// session rotated the client; respond sends the new __client.
func runFlow[R any](s *Server, w http.ResponseWriter, r *http.Request, needClient bool, notFound error,
	call func(rq signin.Request, p params) (R, error), answer func(R) (signedIn *session.Session, body any)) {
	p, c, err := s.flowClient(w, r, needClient, notFound)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	res, err := call(signInRequest(r, c), p)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	signedIn, body := answer(res)
	if signedIn != nil {
		if _, err := s.issueToken(w, r, signedIn); err != nil {
			s.writeErr(w, r, err)
			return
		}
	}
	s.respond(w, r, c, body)
}

// flowClient reads a flow call's form and the caller's client (see
// runFlow for needClient and notFound).
func (s *Server) flowClient(w http.ResponseWriter, r *http.Request, needClient bool, notFound error) (params, *session.Client, error) {
	p, err := readParams(w, r)
	if err != nil {
		return nil, nil, err
	}
	if needClient {
		c, err := s.ensureClient(w, r)
		return p, c, err
	}
	c, err := s.loadClient(r.Context(), r)
	if err == nil && c == nil {
		err = notFound
	}
	return p, c, err
}
