package signin

import (
	"context"
	"time"

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
	if ip == "" {
		return nil
	}
	return t.allow(ctx, action+":ip:"+ip, t.cfg.RequestsPerIP, defaults.RequestWindow, apierr.TooManyRequests)
}

// send applies the code-send limits: per identifier (so one address is
// not flooded) and per IP (so one caller does not flood many).
func (t *throttle) send(ctx context.Context, identifier, ip string) error {
	deny := apierr.VerificationCodeTooManyRequests
	if err := t.allow(ctx, "send:id:"+identifier, t.cfg.SendsPerIdentifier, t.cfg.SendWindow, deny); err != nil {
		return err
	}
	if ip == "" {
		return nil
	}
	return t.allow(ctx, "send:ip:"+ip, t.cfg.SendsPerIP, t.cfg.SendWindow, deny)
}

func (t *throttle) allow(ctx context.Context, key string, limit int, window time.Duration, deny *apierr.Error) error {
	return ratelimit.Allow(ctx, t.st, key, limit, window, deny)
}

// AllowIP applies the per-IP request limit of an action (used by the
// HTTP layer for endpoints outside this package).
func (s *Service) AllowIP(ctx context.Context, action, ip string) error {
	return s.throttle.request(ctx, action, ip)
}
