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
)

// factor is what a strategy checks: the flow runs a password strategy
// through strategy_password.go and a code strategy through
// strategy_code.go.
type factor int

const (
	factorPassword factor = iota + 1
	factorCode
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
}

// strategies is the one table of sign-in strategies. Adding a strategy
// of an existing factor is one line here.
var strategies = []strategy{
	{name: StrategyPassword, factor: factorPassword},
	{name: StrategyEmailCode, factor: factorCode, channel: byEmail, message: notify.KindSignInCode},
	{name: StrategyPhoneCode, factor: factorCode, channel: bySMS, message: notify.KindSignInCode},
	{name: StrategyResetPasswordEmail, factor: factorCode, channel: byEmail, resets: true, message: notify.KindResetCode},
	{name: StrategyResetPasswordPhone, factor: factorCode, channel: bySMS, resets: true, message: notify.KindResetCode},
}

// lookup returns the named strategy, or nil.
func lookup(name string) *strategy {
	for i := range strategies {
		if strategies[i].name == name {
			return &strategies[i]
		}
	}
	return nil
}

// strategyParam resolves the strategy parameter of a request: missing and
// unknown names are parameter errors.
func strategyParam(name string) (*strategy, error) {
	if name == "" {
		return nil, paramMissing("strategy")
	}
	st := lookup(name)
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
