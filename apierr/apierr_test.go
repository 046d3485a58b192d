package apierr_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/store"
)

func TestIsComparesCodes(t *testing.T) {
	custom := apierr.ResourceNotFound.WithLongMessage("No sign in was found with this id.").WithParam("id")
	wrapped := fmt.Errorf("loading: %w", custom)
	if !errors.Is(wrapped, apierr.ResourceNotFound) {
		t.Fatal("a reworded resource_not_found is not ResourceNotFound")
	}
	if errors.Is(wrapped, apierr.SignedOut) {
		t.Fatal("resource_not_found matches signed_out")
	}
	if errors.Is(custom, store.ErrUnavailable) {
		t.Fatal("an API error matches a plain sentinel")
	}
}

// wait is an outage that says when to retry, like a circuit breaker's.
type wait time.Duration

func (w wait) Error() string             { return "breaker open" }
func (w wait) Is(target error) bool      { return target == store.ErrUnavailable }
func (w wait) RetryAfter() time.Duration { return time.Duration(w) }

func TestFromMapsOutagesAndEverythingElse(t *testing.T) {
	outage := fmt.Errorf("reading client: %w", fmt.Errorf("redis: get: %w: dial tcp: refused", store.ErrUnavailable))
	for _, tc := range []struct {
		name  string
		err   error
		code  string
		retry time.Duration
	}{
		{"api error", apierr.FormCodeIncorrect, "form_code_incorrect", 0},
		{"outage", outage, "service_unavailable", apierr.OutageRetryAfter},
		{"outage with its own wait", fmt.Errorf("get: %w", wait(12*time.Second)), "service_unavailable", 12 * time.Second},
		{"anything else", errors.New("boom"), "internal_error", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := apierr.From(tc.err)
			if e.Code != tc.code || e.RetryAfter != tc.retry {
				t.Fatalf("From = %s (retry %v), want %s (retry %v)", e.Code, e.RetryAfter, tc.code, tc.retry)
			}
			if got := apierr.Unavailable(tc.err); got != (tc.code == "service_unavailable") {
				t.Fatalf("Unavailable = %v", got)
			}
		})
	}
}

func TestWriteSendsTheEnvelopeAndRetryAfter(t *testing.T) {
	rec := httptest.NewRecorder()
	apierr.Write(rec, apierr.ServiceUnavailable.WithRetryAfter(1500*time.Millisecond))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "2" ||
		rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	var env apierr.Envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || len(env.Errors) != 1 || env.Errors[0].Code != "service_unavailable" {
		t.Fatalf("body %s (%v)", rec.Body, err)
	}
	rec = httptest.NewRecorder()
	apierr.Write(rec, apierr.FormCodeIncorrect)
	if rec.Code != 422 || rec.Header().Get("Retry-After") != "" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
}

// A store call cut off by its caller's deadline is an outage; one that
// already was keeps its own wait.
func TestTimedOutIsAnOutageKeepingItsWait(t *testing.T) {
	late := apierr.TimedOut(fmt.Errorf("reading client: %w", context.DeadlineExceeded))
	if !apierr.Unavailable(late) || !errors.Is(late, context.DeadlineExceeded) {
		t.Fatalf("TimedOut = %v: unavailable %v", late, apierr.Unavailable(late))
	}
	if e := apierr.From(late); e.Code != "service_unavailable" || e.RetryAfter != apierr.OutageRetryAfter {
		t.Fatalf("From(TimedOut) = %s (retry %v)", e.Code, e.RetryAfter)
	}
	open := fmt.Errorf("get: %w", wait(9*time.Second))
	if got := apierr.TimedOut(open); got != open || apierr.From(got).RetryAfter != 9*time.Second {
		t.Fatalf("TimedOut rewrapped an outage: %v", got)
	}
	if apierr.TimedOut(nil) != nil {
		t.Fatal("TimedOut(nil) is an error")
	}
}

func TestMethodNotAllowedIsClerks405(t *testing.T) {
	rec := httptest.NewRecorder()
	apierr.Write(rec, apierr.MethodNotAllowed)
	var env apierr.Envelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != http.StatusMethodNotAllowed ||
		len(env.Errors) != 1 || env.Errors[0].Code != "method_not_allowed" {
		t.Fatalf("status %d, body %s (%v)", rec.Code, rec.Body, err)
	}
}

// TestFromConflict: store contention is a retryable 503, not a 500.
func TestFromConflict(t *testing.T) {
	e := apierr.From(fmt.Errorf("updating user: %w", store.ErrConflict))
	if e.Status != 503 || e.RetryAfter != time.Second {
		t.Fatalf("From(ErrConflict) = %d, Retry-After %v", e.Status, e.RetryAfter)
	}
}
