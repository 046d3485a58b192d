package signup

import (
	"context"

	"github.com/authgate/authgate/internal/smsguard"
)

// The rules against SMS pumping live in internal/smsguard, shared with a
// signed-in user adding a phone: every phone sign-up passes all three,
// against Config.PhoneCountries and Config.Limits' SMS budgets. 1 and 2
// are checked when the number is given (create or PATCH), so the caller
// hears at once; 3 when a code is sent.

// phoneRegion checks rules 1 and 2 for a normalized (E.164) number and
// returns its region (ISO 3166-1 alpha-2).
func (s *Service) phoneRegion(e164 string) (string, error) {
	return smsguard.Region(e164, s.cfg.PhoneCountries, fieldPhone, "sign-up codes")
}

// smsBudget applies rule 3 before an SMS code (or notice) is sent to the
// E.164 number e164 of region.
func (s *Service) smsBudget(ctx context.Context, region, e164, ip string) error {
	l := s.cfg.Limits
	return smsguard.Limits{Key: "signup:sms:", PerIPCountry: l.SMSPerIPPerCountry, PerCountry: l.SMSPerCountry,
		PerPrefix: l.SMSPerPrefix, Window: l.SMSWindow}.Allow(ctx, s.st, region, e164, ip)
}
