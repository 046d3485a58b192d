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
	switch e.Sender {
	case "log":
		return notify.NewLogEmailer(a.logger.Named("email"), opts...), nil
	case "smtp":
		s, err := notify.NewSMTP(notify.SMTPConfig{
			Address:  repl.ReplaceAll(e.Address, ""),
			From:     repl.ReplaceAll(e.From, ""),
			TLS:      e.TLS,
			Username: repl.ReplaceAll(e.Username, ""),
			Password: repl.ReplaceAll(e.Password, ""),
		}, opts...)
		return configured[notify.Emailer]("email smtp", s, err)
	}
	return nil, fmt.Errorf("email: unknown sender %q", e.Sender)
}

func (a *App) buildTexter(repl *caddy.Replacer, opts []notify.Option) (notify.Texter, error) {
	s := a.SMS
	switch s.Sender {
	case "log":
		return notify.NewLogTexter(a.logger.Named("sms"), opts...), nil
	case "webhook":
		t, err := notify.NewWebhook(repl.ReplaceAll(s.URL, ""), nil, opts...)
		return configured[notify.Texter]("sms webhook", t, err)
	case "twilio":
		t, err := notify.NewTwilio(notify.TwilioConfig{
			AccountSID: repl.ReplaceAll(s.AccountSID, ""),
			AuthToken:  repl.ReplaceAll(s.AuthToken, ""),
			From:       repl.ReplaceAll(s.From, ""),
			BaseURL:    repl.ReplaceAll(s.BaseURL, ""),
		}, opts...)
		return configured[notify.Texter]("sms twilio", t, err)
	}
	return nil, fmt.Errorf("sms: unknown sender %q", s.Sender)
}

// configured returns the sender v, or err naming what failed to configure
// (and a nil sender, never a typed nil in the interface).
func configured[T any](what string, v T, err error) (T, error) {
	if err != nil {
		var none T
		return none, fmt.Errorf("configuring %s: %w", what, err)
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
