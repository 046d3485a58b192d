package notify

import (
	"context"
	"time"
)

// Channel is how a message reaches the user.
type Channel string

// Channels.
const (
	ChannelEmail Channel = "email"
	ChannelSMS   Channel = "sms"
)

// Notice is one message for a user, by channel: a code or a notice.
type Notice struct {
	Channel   Channel
	Kind      Kind
	To        string
	Code      string
	ExpiresIn time.Duration
}

// Deliverer sends notices through an Emailer or a Texter by channel.
type Deliverer struct {
	Email   Emailer
	SMS     Texter
	AppName string
}

// Deliver sends one notice.
func (d *Deliverer) Deliver(ctx context.Context, n Notice) error {
	m := Message{Kind: n.Kind, To: n.To, Code: n.Code, AppName: d.AppName}
	if n.Code != "" {
		m.ExpiresIn = n.ExpiresIn
	}
	if n.Channel == ChannelSMS {
		return d.SMS.SendSMS(ctx, m)
	}
	return d.Email.SendEmail(ctx, m)
}
