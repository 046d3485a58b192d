package handlers

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/users"
)

// errorFor is the one mapping from an error to the Clerk error a caller
// sees, for every surface: the JSON API, the admin API, the pages (which
// show it on the form or as a failure page) and the gate.
//
//   - An *apierr.Error, which the services return for the caller's
//     mistakes, is answered as it is.
//   - An unknown user or session (users.ErrNotFound, session.ErrNotFound)
//     is 404 resource_not_found.
//   - The store out of reach (apierr.Unavailable) is 503
//     service_unavailable with Retry-After.
//   - Anything else is 500 internal_error.
func errorFor(err error) *apierr.Error {
	var e *apierr.Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, users.ErrNotFound), errors.Is(err, session.ErrNotFound):
		return apierr.ResourceNotFound
	default:
		return apierr.From(err)
	}
}

// failure is errorFor for an answer about to be written: what is not the
// caller's doing (a store outage, an unexpected error) is logged here.
func failure(log *zap.Logger, r *http.Request, err error) *apierr.Error {
	e := errorFor(err)
	if e == apierr.Internal || apierr.Unavailable(err) {
		logFailure(log, r, err)
	}
	return e
}

// logFailure logs an error that is not the caller's, with the path. A
// store outage is logged at Debug only: it fails every request at once,
// and the store guard (store/guard) already logs it once per second per
// kind with a count, so a line per request would flood the log (issue
// 9). So is a request whose caller went away: nobody waits for it, and
// during an outage many give up.
func logFailure(log *zap.Logger, r *http.Request, err error) {
	level, msg := zap.ErrorLevel, "request failed"
	switch {
	case apierr.Unavailable(err):
		level, msg = zap.DebugLevel, "store unavailable"
	case r.Context().Err() != nil:
		level, msg = zap.DebugLevel, "request abandoned by the caller"
	}
	if ce := log.Check(level, msg); ce != nil {
		ce.Write(zap.String("path", r.URL.Path), zap.Error(err))
	}
}

// writeErr answers err as the Clerk envelope.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	apierr.Write(w, failure(s.d.Logger, r, err))
}

// WriteUnavailable answers 503 service_unavailable with Retry-After, as
// every surface answers while the store cannot be reached; caddymodule
// calls it while the app is not ready to serve.
func WriteUnavailable(w http.ResponseWriter) { apierr.Write(w, apierr.Outage) }
