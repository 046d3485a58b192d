// Package apierr is the Clerk error envelope authgate speaks on its JSON
// API and admin API:
//
//	{"errors": [{"code", "message", "long_message", "meta": {"param_name"}}]}
//
// Codes and statuses follow Clerk's Frontend API so clerk-js clients show the
// right message next to the right field. The package also owns the two
// rules every surface shares: which errors mean "the store cannot answer,
// retry shortly" (Unavailable, From), and how an error's Retry-After is
// written (SetHeaders).
package apierr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/authgate/authgate/store"
)

// Error is one Clerk-shaped API error. It implements error so domain code
// can return it and the HTTP layer can write it unchanged.
type Error struct {
	Status      int            `json:"-"`
	Code        string         `json:"code"`
	Message     string         `json:"message"`
	LongMessage string         `json:"long_message"`
	Meta        map[string]any `json:"meta,omitempty"`
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter time.Duration `json:"-"`
}

func (e *Error) Error() string {
	if p, ok := e.Meta["param_name"]; ok {
		return fmt.Sprintf("%s (%s): %s", e.Code, p, e.LongMessage)
	}
	return e.Code + ": " + e.LongMessage
}

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, apierr.ResourceNotFound) holds for every not-found error,
// whatever its message or meta.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// WithParam returns a copy of e that names the offending parameter.
func (e *Error) WithParam(name string) *Error {
	return e.WithMeta("param_name", name)
}

// WithMeta returns a copy of e with meta[k] = v.
func (e *Error) WithMeta(k string, v any) *Error {
	c := *e
	c.Meta = make(map[string]any, len(e.Meta)+1)
	for mk, mv := range e.Meta {
		c.Meta[mk] = mv
	}
	c.Meta[k] = v
	return &c
}

// WithLongMessage returns a copy of e with another long message.
func (e *Error) WithLongMessage(msg string) *Error {
	c := *e
	c.LongMessage = msg
	return &c
}

// WithRetryAfter returns a copy of e that tells the client when to retry.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

func newErr(status int, code, msg, long string) *Error {
	return &Error{Status: status, Code: code, Message: msg, LongMessage: long}
}

// The errors authgate returns. Use the With* methods to add details.
var (
	FormIdentifierNotFound            = newErr(422, "form_identifier_not_found", "Couldn't find your account.", "Couldn't find your account.")
	FormIdentifierExists              = newErr(422, "form_identifier_exists", "That identifier is taken.", "That email address, phone number or username is taken. Please try another.")
	FormPasswordIncorrect             = newErr(422, "form_password_incorrect", "Password is incorrect. Try again, or use another method.", "Password is incorrect. Try again, or use another method.")
	FormPasswordOrIdentifierIncorrect = newErr(422, "form_password_or_identifier_incorrect", "Password or identifier is incorrect.", "Password or identifier is incorrect. Try again, or use another method.")
	FormPasswordPwned                 = newErr(422, "form_password_pwned", "Password has been found in an online data breach.", "This password has been found as part of a breach and can not be used, please try another password instead.")
	FormPasswordPwnedSignIn           = newErr(422, "form_password_pwned", "Password has been found in an online data breach.", "This password has been found as part of a breach and can not be used, please reset your password.")
	FormPasswordCompromised           = newErr(422, "form_password_compromised", "", "Your password may be compromised. To protect your account, please continue with an alternative sign-in method. You will be required to reset your password after signing in.")
	FormPasswordLengthTooShort        = newErr(422, "form_password_length_too_short", "Password is too short.", "Your password is too short.")
	FormPasswordSizeExceeded          = newErr(422, "form_password_size_in_bytes_exceeded", "Password is too long.", "Your password is too long. Please use a shorter one.")
	FormPasswordMatchesIdentifier     = newErr(422, "form_password_matches_identifier", "Password matches an identifier.", "Password cannot match your email address, phone number or username. Please choose another password.")
	FormPasswordInvalid               = newErr(422, "form_param_format_invalid", "is invalid", "The password contains characters that are not allowed.")
	FormNewPasswordMatchesCurrent     = newErr(422, "form_new_password_matches_current", "is invalid", "New password cannot be the same as the current password.")
	FormCodeIncorrect                 = newErr(422, "form_code_incorrect", "is incorrect", "Incorrect code")
	FormParamMissing                  = newErr(422, "form_param_missing", "is missing", "A required parameter is missing.")
	FormParamFormatInvalid            = newErr(422, "form_param_format_invalid", "is invalid", "A parameter has an invalid format.")
	FormParamValueInvalid             = newErr(422, "form_param_value_invalid", "is invalid", "A parameter has an invalid value.")
	VerificationExpired               = newErr(400, "verification_expired", "expired", "This verification has expired. You must create a new one.")
	VerificationFailed                = newErr(400, "verification_failed", "failed", "Too many failed attempts. You have to try again with the same or another method.")
	VerificationNotSent               = newErr(400, "verification_not_sent", "not sent", "You need to send a verification code before attempting to verify.")
	VerificationAlreadyVerified       = newErr(400, "verification_already_verified", "already verified", "This verification has already been verified.")
	VerificationStrategyInvalid       = newErr(400, "verification_strategy_invalid", "has invalid strategy", "The strategy is not valid for the current verification.")
	VerificationCodeTooManyRequests   = newErr(429, "verification_code_too_many_requests", "Too many verification code requests", "Too many verification code requests. Please wait at least 30 seconds to receive your code before trying again.")
	StrategyForUserInvalid            = newErr(400, "strategy_for_user_invalid", "Invalid verification strategy", "The verification strategy is not valid for this account")
	UserLocked                        = newErr(403, "user_locked", "Account locked", "Your account is locked. Please try again later.")
	ClientStateInvalid                = newErr(400, "client_state_invalid", "Invalid action", "We were unable to complete this action for this Client.")
	ResourceNotFound                  = newErr(404, "resource_not_found", "not found", "The requested resource was not found.")
	MethodNotAllowed                  = newErr(405, "method_not_allowed", "Method not allowed", "This endpoint does not accept this HTTP method.")
	AuthenticationInvalid             = newErr(401, "authentication_invalid", "Invalid authentication", "Unable to authenticate the request, you need to supply an active session")
	SignedOut                         = newErr(401, "signed_out", "Signed out", "You are signed out")
	OriginInvalid                     = newErr(400, "origin_invalid", "Invalid origin", "The Request HTTP Origin header must be equal to or a subdomain of the requesting URL.")
	SessionTaskPending                = newErr(403, "session_task_pending", "Session task pending", "Your session has pending tasks that must be completed first.")
	SessionReverificationRequired     = newErr(403, "session_reverification_required", "Reverification required", "You need to provide additional verification to perform this operation")
	TooManyRequests                   = newErr(429, "too_many_requests", "Too many requests", "Too many requests, retry later")
	ServiceUnavailable                = newErr(503, "service_unavailable", "Service unavailable", "The service is temporarily unavailable. Please try again shortly.")
	DeliveryFailed                    = newErr(502, "delivery_failed", "Delivery failed", "We could not send the code. Please try again later.")
	BreachCheckUnavailable            = newErr(503, "password_check_unavailable", "Password check unavailable", "We could not check this password against known breaches right now. Please try again shortly.")
	RequestBodyInvalid                = newErr(400, "request_body_invalid", "Request body invalid", "The request body could not be read.")
	SignUpDisabled                    = newErr(403, "sign_up_disabled", "Sign-up is disabled", "Sign-up is disabled for this application: accounts are created by an administrator.")
	CSRFInvalid                       = newErr(403, "csrf_invalid", "Invalid form", "The form expired or came from another site. Please try again.")
	Internal                          = newErr(500, "internal_error", "Internal error", "Something went wrong on our side.")
)

// OutageRetryAfter is the Retry-After sent while the store cannot be
// reached and the error carries no wait of its own.
const OutageRetryAfter = 5 * time.Second

// Outage is the answer while the store cannot be reached.
var Outage = ServiceUnavailable.WithRetryAfter(OutageRetryAfter)

// Envelope is the body of an error response.
type Envelope struct {
	Errors []*Error       `json:"errors"`
	Meta   map[string]any `json:"meta,omitempty"`
}

// Unavailable reports whether err means the store cannot be reached
// right now (it wraps store.ErrUnavailable): the request may succeed if
// retried shortly, and must never be answered as if it had.
func Unavailable(err error) bool { return errors.Is(err, store.ErrUnavailable) }

// TimedOut marks err, the error of store work its caller cut off with a
// deadline of its own (the gate's budget), as unavailability: a store
// that did not answer in time is answered like one out of reach, 503
// with Retry-After, whatever the cancelled call returned (a bare
// context.DeadlineExceeded from a backend without the store guard, say).
// Unavailability errors come back unchanged, so that their RetryAfter
// hint (a circuit breaker's) still applies.
func TimedOut(err error) error {
	if err == nil || Unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: no answer before the deadline: %w", store.ErrUnavailable, err)
}

// From returns err as an *Error: itself when it is one; when the store
// cannot be reached, Outage (with the wait the error carries through a
// RetryAfter() time.Duration method, such as a circuit breaker's, instead
// of OutageRetryAfter); Internal otherwise.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, store.ErrConflict) {
		// Too much contention on one record: retryable, not a fault.
		return Outage.WithRetryAfter(time.Second)
	}
	if Unavailable(err) {
		var hint interface{ RetryAfter() time.Duration }
		if errors.As(err, &hint) && hint.RetryAfter() > 0 {
			return Outage.WithRetryAfter(hint.RetryAfter())
		}
		return Outage
	}
	return Internal
}

// SetHeaders sets the response headers e carries: Retry-After, in whole
// seconds rounded up, when e says when to retry. Every surface (JSON API,
// admin API, pages, the gate) writes Retry-After through here.
func (e *Error) SetHeaders(h http.Header) {
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		h.Set("Retry-After", strconv.Itoa(secs))
	}
}

// Write sends errs (at least one) as the Clerk envelope with the first
// error's status and headers.
func Write(w http.ResponseWriter, errs ...*Error) {
	if len(errs) == 0 {
		errs = []*Error{Internal}
	}
	first := errs[0]
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	first.SetHeaders(h)
	status := first.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Envelope{Errors: errs})
}
