package signup

import (
	"context"
	"slices"

	"github.com/nyaruka/phonenumbers"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ratelimit"
)

// The rules against SMS pumping (toll fraud: bots signing up with
// numbers whose operator pays the fraudster per SMS received). Every
// phone sign-up passes all three:
//
//  1. The number's region must be one of Config.PhoneCountries (none by
//     default: the operator opens the countries its users live in).
//  2. Its type, as libphonenumber knows it, must be MOBILE or
//     FIXED_LINE_OR_MOBILE (US and CA numbers cannot be told apart and are
//     the latter). Premium-rate, shared-cost, toll-free, VoIP, pager,
//     personal, UAN, voicemail, fixed-line and unknown numbers are
//     refused: none of them is a phone a person reads an SMS code on, and
//     premium-rate numbers are what pumping uses.
//  3. SMS sends to a country are budgeted per IP and for everyone
//     (Limits.SMSPerIPPerCountry, Limits.SMSPerCountry per SMSWindow): a
//     bot that rotates numbers within one country is capped even when it
//     rotates IPs too. Sends to numbers that share all but their last
//     prefixKeep digits (one operator's range: the pumping pattern) are
//     budgeted too (Limits.SMSPerPrefix per SMSWindow).
//
// 1 and 2 are checked when the number is given (create or PATCH), so the
// caller hears at once; 3 when a code is sent.

// phoneRegion checks rules 1 and 2 for a normalized (E.164) number and
// returns its region (ISO 3166-1 alpha-2).
func (s *Service) phoneRegion(e164 string) (string, error) {
	num, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", apierr.FormParamFormatInvalid.WithParam(fieldPhone).
			WithLongMessage("phone_number is not a valid phone number.")
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	if !slices.Contains(s.cfg.PhoneCountries, region) {
		// Clerk's words for a country outside its SMS allowlist.
		return "", apierr.FormParamFormatInvalid.WithParam(fieldPhone).
			WithLongMessage("Phone numbers from this country (" + region + ") are currently not supported.")
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return region, nil
	}
	return "", apierr.FormParamFormatInvalid.WithParam(fieldPhone).
		WithLongMessage("This phone number cannot receive sign-up codes: use a mobile number.")
}

// prefixKeep is how many trailing digits a number range leaves out: a
// range is the number without its last prefixKeep digits.
const prefixKeep = 4

// smsBudget applies rule 3 before an SMS code (or notice) is sent to the
// E.164 number e164 of region.
func (s *Service) smsBudget(ctx context.Context, region, e164, ip string) error {
	deny := apierr.VerificationCodeTooManyRequests
	l := s.cfg.Limits
	if err := ratelimit.AllowIP(ctx, s.st, "signup:sms:"+region+":ip:", ip, l.SMSPerIPPerCountry, l.SMSWindow, deny); err != nil {
		return err
	}
	if len(e164) > prefixKeep+1 {
		if err := ratelimit.Allow(ctx, s.st, "signup:sms:range:"+e164[:len(e164)-prefixKeep], l.SMSPerPrefix, l.SMSWindow, deny); err != nil {
			return err
		}
	}
	return ratelimit.Allow(ctx, s.st, "signup:sms:"+region, l.SMSPerCountry, l.SMSWindow, deny)
}
