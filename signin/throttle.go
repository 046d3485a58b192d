package signin

import (
	"context"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/defaults"
	"github.com/authgate/authgate/internal/ratelimit"
)

// throttle applies the request and code-send rate limits, shared by all
// instances through the store. The limits are the same for known and
// unknown identifiers, so they tell nothing about which exist.
type throttle struct {
	st  Store
	cfg *Config
}

// request applies the per-IP request limit of an action (a caller without
// an IP, such as a test or an internal call, is not limited).
func (t *throttle) request(ctx context.Context, action, ip string) error {
	return ratelimit.AllowIP(ctx, t.st, action+":ip:", ip, t.cfg.RequestsPerIP, defaults.RequestWindow, apierr.TooManyRequests)
}

// send applies the code-send limits: per identifier (so one address is
// not flooded) and per IP (so one caller does not flood many).
func (t *throttle) send(ctx context.Context, identifier, ip string) error {
	sends := ratelimit.Sends{PerIdentifier: t.cfg.SendsPerIdentifier, PerIP: t.cfg.SendsPerIP, Window: t.cfg.SendWindow}
	return sends.Allow(ctx, t.st, "send:id:"+identifier, "send:ip:", ip)
}

// AllowIP applies the per-IP request limit of an action (used by the
// HTTP layer for endpoints outside this package).
func (s *Service) AllowIP(ctx context.Context, action, ip string) error {
	return s.throttle.request(ctx, action, ip)
}
