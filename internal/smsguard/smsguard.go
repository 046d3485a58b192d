// Package smsguard holds the rules against SMS pumping (toll fraud: bots
// making a service text numbers whose operator pays the fraudster per
// SMS received), shared by every flow that texts a number a caller just
// typed: sign-up by phone (signup) and a signed-in user adding a phone
// (signin's phone_add.go). Every such number passes all three:
//
//  1. Its region must be one of the operator's countries (none by
//     default: the operator opens the countries its users live in).
//  2. Its type, as libphonenumber knows it, must be MOBILE or
//     FIXED_LINE_OR_MOBILE (US and CA numbers cannot be told apart and
//     are the latter). Premium-rate, shared-cost, toll-free, VoIP, pager,
//     personal, UAN, voicemail, fixed-line and unknown numbers are
//     refused: none of them is a phone a person reads an SMS code on, and
//     premium-rate numbers are what pumping uses.
//  3. SMS sends to a country are budgeted per IP and for everyone: a bot
//     that rotates numbers within one country is capped even when it
//     rotates IPs too. Sends to numbers that share all but their last
//     PrefixKeep digits (one operator's range: the pumping pattern) are
//     budgeted too.
//
// 1 and 2 are checked when the number is given (Region), so the caller
// hears at once; 3 when a code is sent (Limits.Allow).
package smsguard

import (
	"context"
	"slices"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/ratelimit"
)

// Region checks rules 1 and 2 for a normalized (E.164) number against
// the open countries (ISO 3166-1 alpha-2, upper case) and returns its
// region. Refusals are 422 form_param_format_invalid on param; codes
// names what the number would get ("sign-up codes"), for the message.
func Region(e164 string, countries []string, param, codes string) (string, error) {
	num, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", apierr.FormParamFormatInvalid.WithParam(param).
			WithLongMessage("phone_number is not a valid phone number.")
	}
	region := phonenumbers.GetRegionCodeForNumber(num)
	if !slices.Contains(countries, region) {
		// Clerk's words for a country outside its SMS allowlist.
		return "", apierr.FormParamFormatInvalid.WithParam(param).
			WithLongMessage("Phone numbers from this country (" + region + ") are currently not supported.")
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return region, nil
	}
	return "", apierr.FormParamFormatInvalid.WithParam(param).
		WithLongMessage("This phone number cannot receive " + codes + ": use a mobile number.")
}

// AllRegions returns every region libphonenumber knows, sorted: the open
// countries for adding a phone where nobody can make an account but an
// administrator (no sign-up), so that no stranger can spend SMS on it;
// rules 2 and 3 still apply.
func AllRegions() []string {
	out := make([]string, 0, 256)
	for r := range phonenumbers.GetSupportedRegions() {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}

// PrefixKeep is how many trailing digits a number range leaves out: a
// range is the number without its last PrefixKeep digits.
const PrefixKeep = 4

// Limits is rule 3: SMS sends per IP per country, per country and per
// number range, each per Window. Key prefixes the counters, so that each
// flow keeps its own budgets.
type Limits struct {
	Key          string
	PerIPCountry int
	PerCountry   int
	PerPrefix    int
	Window       time.Duration
}

// Allow applies rule 3 before an SMS is sent to the E.164 number e164 of
// region, asked for from ip; over a limit it returns 429
// verification_code_too_many_requests.
func (l Limits) Allow(ctx context.Context, st ratelimit.Limiter, region, e164, ip string) error {
	deny := apierr.VerificationCodeTooManyRequests
	if err := ratelimit.AllowIP(ctx, st, l.Key+region+":ip:", ip, l.PerIPCountry, l.Window, deny); err != nil {
		return err
	}
	if len(e164) > PrefixKeep+1 {
		if err := ratelimit.Allow(ctx, st, l.Key+"range:"+e164[:len(e164)-PrefixKeep], l.PerPrefix, l.Window, deny); err != nil {
			return err
		}
	}
	return ratelimit.Allow(ctx, st, l.Key+region, l.PerCountry, l.Window, deny)
}
