package caddymodule

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"

	"github.com/authgate/authgate/notify"
	"github.com/authgate/authgate/password"
	"github.com/authgate/authgate/password/breach"
)

// The app's outside parts, built at Provision from a configuration with
// its defaults applied and checked: the message templates, the email and
// SMS senders, and the breached-password source. None does network I/O
// here. Values are expanded with repl ({env.SMTP_PASSWORD}).

// messageOptions returns the notify options: the message templates that
// override the embedded ones, if a folder is configured.
func (a *App) messageOptions(repl *caddy.Replacer) ([]notify.Option, error) {
	if a.Templates == "" {
		return nil, nil
	}
	t, err := notify.LoadTemplates(repl.ReplaceAll(a.Templates, ""))
	if err != nil {
		return nil, fmt.Errorf("loading message templates: %w", err)
	}
	return []notify.Option{notify.WithTemplates(t)}, nil
}

func (a *App) buildEmailer(repl *caddy.Replacer, opts []notify.Option) (notify.Emailer, error) {
	e := a.Email
	return senders[notify.Emailer]{
		"log": func() (notify.Emailer, error) { return notify.NewLogEmailer(a.logger.Named("email"), opts...), nil },
		"smtp": func() (notify.Emailer, error) {
			return notify.NewSMTP(notify.SMTPConfig{
				Address:  repl.ReplaceAll(e.Address, ""),
				From:     repl.ReplaceAll(e.From, ""),
				TLS:      e.TLS,
				Username: repl.ReplaceAll(e.Username, ""),
				Password: repl.ReplaceAll(e.Password, ""),
			}, opts...)
		},
	}.build("email", e.Sender)
}

func (a *App) buildTexter(repl *caddy.Replacer, opts []notify.Option) (notify.Texter, error) {
	s := a.SMS
	return senders[notify.Texter]{
		"log":     func() (notify.Texter, error) { return notify.NewLogTexter(a.logger.Named("sms"), opts...), nil },
		"webhook": func() (notify.Texter, error) { return notify.NewWebhook(repl.ReplaceAll(s.URL, ""), nil, opts...) },
		"twilio": func() (notify.Texter, error) {
			return notify.NewTwilio(notify.TwilioConfig{
				AccountSID: repl.ReplaceAll(s.AccountSID, ""),
				AuthToken:  repl.ReplaceAll(s.AuthToken, ""),
				From:       repl.ReplaceAll(s.From, ""),
				BaseURL:    repl.ReplaceAll(s.BaseURL, ""),
			}, opts...)
		},
	}.build("sms", s.Sender)
}

// senders are the constructors of a channel's senders by their Caddyfile
// name (the names validate.go accepts).
type senders[T any] map[string]func() (T, error)

// build runs the constructor of sender. An error names the channel and
// the sender and comes with a nil sender, never a typed nil in the
// interface (a constructor's nil *SMTP returned with its error is one).
func (b senders[T]) build(channel, sender string) (T, error) {
	var none T
	newSender, ok := b[sender]
	if !ok {
		return none, fmt.Errorf("%s: unknown sender %q", channel, sender)
	}
	v, err := newSender()
	if err != nil {
		return none, fmt.Errorf("configuring %s %s: %w", channel, sender, err)
	}
	return v, nil
}

// buildBreach returns the breach source (nil for off). An offline index
// is closed at Cleanup.
func (a *App) buildBreach(repl *caddy.Replacer) (password.Checker, error) {
	b := a.Password.Breach
	switch b.Source {
	case "common":
		return breach.Common(), nil
	case "off":
		return nil, nil
	case "hibp":
		return breach.HIBP(repl.ReplaceAll(b.URL, "")), nil
	case "file":
		idx, err := breach.Open(repl.ReplaceAll(b.Path, ""))
		if err != nil {
			return nil, fmt.Errorf("opening password breach index: %w", err)
		}
		a.closers = append(a.closers, idx.Close)
		// The embedded list still catches the most common passwords.
		return breach.Any(breach.Common(), idx), nil
	}
	return nil, fmt.Errorf("password breach: unknown source %q", b.Source)
}
