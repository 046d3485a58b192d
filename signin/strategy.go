package signin

import (
	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/users"
)

// Strategies.
const (
	StrategyPassword           = "password"
	StrategyEmailCode          = "email_code"
	StrategyPhoneCode          = "phone_code"
	StrategyResetPasswordEmail = "reset_password_email_code"
	StrategyResetPasswordPhone = "reset_password_phone_code"
	// StrategyTOTP and StrategyBackupCode are second factors only;
	// StrategyPhoneCode is a second factor too.
	StrategyTOTP       = "totp"
	StrategyBackupCode = "backup_code"
)

// factor is what a strategy checks: the flow runs a password strategy
// through strategy_password.go, and the strategies that check a code
// (sent by SMS or email, an authenticator app's, a backup code) through
// strategy_code.go.
type factor int

const (
	factorPassword factor = iota + 1
	// factorCode is a code the flow sent.
	factorCode
	// factorTOTP is an authenticator app's code (mfa checks it).
	factorTOTP
	// factorBackupCode is one of the user's backup codes (mfa uses it up).
	factorBackupCode
)

// channel is where a code strategy sends its codes: which identifications
// of the user receive them, how notify delivers them, and the parameter of
// prepare_first_factor that names one of them.
type channel struct {
	kind   users.Kind
	notify notify.Channel
	param  string
}

var (
	byEmail = &channel{kind: users.KindEmail, notify: notify.ChannelEmail, param: "email_address_id"}
	bySMS   = &channel{kind: users.KindPhone, notify: notify.ChannelSMS, param: "phone_number_id"}
)

// targetID is the identification id prepare_first_factor names for ch.
func (ch *channel) targetID(p PrepareParams) string {
	if ch == bySMS {
		return p.PhoneNumberID
	}
	return p.EmailAddressID
}

// strategy declares one sign-in strategy; the flow has no other knowledge
// of it.
type strategy struct {
	name   string
	factor factor
	// channel is nil for a password strategy.
	channel *channel
	// resets is set for the password-recovery strategies: a verified code
	// leads to a new password, not to a session, and the password lockout
	// does not apply (codes count against the code budget, budget.go, so a
	// locked-out user can reset).
	resets bool
	// message is the notice a code goes out in.
	message notify.Kind
	// second is set for the strategies of the second step (after the first
	// factor of a user with a second factor: prepare_second_factor and
	// attempt_second_factor). A name may be in both steps (phone_code).
	second bool
}

// strategies is the one table of sign-in strategies. Adding a strategy
// of an existing factor is one line here.
var strategies = []strategy{
	{name: StrategyPassword, factor: factorPassword},
	{name: StrategyEmailCode, factor: factorCode, channel: byEmail, message: notify.KindSignInCode},
	{name: StrategyPhoneCode, factor: factorCode, channel: bySMS, message: notify.KindSignInCode},
	{name: StrategyResetPasswordEmail, factor: factorCode, channel: byEmail, resets: true, message: notify.KindResetCode},
	{name: StrategyResetPasswordPhone, factor: factorCode, channel: bySMS, resets: true, message: notify.KindResetCode},
	{name: StrategyTOTP, factor: factorTOTP, second: true},
	{name: StrategyBackupCode, factor: factorBackupCode, second: true},
	{name: StrategyPhoneCode, factor: factorCode, channel: bySMS, message: notify.KindSignInCode, second: true},
}

// lookup returns the named first-factor strategy, or nil.
func lookup(name string) *strategy { return find(false, name) }

// find returns the named strategy of the first (second=false) or second
// step, or nil.
func find(second bool, name string) *strategy {
	for i := range strategies {
		if strategies[i].name == name && strategies[i].second == second {
			return &strategies[i]
		}
	}
	return nil
}

// awaits is the attempt status in which st is used.
func (st *strategy) awaits() string {
	if st.second {
		return StatusNeedsSecondFactor
	}
	return StatusNeedsFirstFactor
}

// codeKey, failKey and resendKey are the store keys of a code
// strategy's code, tries and resend cooldown in attempt id. The second
// step has keys of its own, so that it never sees the first factor's code
// or counts.
func (st *strategy) codeKey(id string) string   { return st.keyPrefix() + codeKey(id) }
func (st *strategy) failKey(id string) string   { return st.keyPrefix() + codeFailKey(id) }
func (st *strategy) resendKey(id string) string { return st.keyPrefix() + resendKey(id) }

func (st *strategy) keyPrefix() string {
	if st.second {
		return "2fa:"
	}
	return ""
}

// macName is the strategy name a code's HMAC is bound to: a second-factor
// SMS code never verifies as a first-factor one, nor the other way round.
func (st *strategy) macName() string { return st.keyPrefix() + st.name }

// strategyParam resolves the strategy parameter of a request for the
// first (second=false) or second step: missing and unknown names are
// parameter errors.
func strategyParam(second bool, name string) (*strategy, error) {
	if name == "" {
		return nil, paramMissing("strategy")
	}
	st := find(second, name)
	if st == nil {
		return nil, errStrategyUnsupported()
	}
	return st, nil
}

func errStrategyUnsupported() error {
	return apierr.FormParamValueInvalid.WithParam("strategy").WithLongMessage("strategy is not supported.")
}

// Resets reports whether the named strategy recovers a password (false
// for unknown names), so callers need not list the reset strategies.
func Resets(name string) bool {
	st := lookup(name)
	return st != nil && st.resets
}

// CodeChannel is the kind of identification the named code strategy
// sends its codes to ("" for the password strategy and unknown names).
func CodeChannel(name string) users.Kind {
	if st := lookup(name); st != nil && st.channel != nil {
		return st.channel.kind
	}
	return ""
}
