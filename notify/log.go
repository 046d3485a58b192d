package notify

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// devDeliveryMsg is the log message of LogEmailer and LogTexter entries, so
// operators (and tests) can find them.
const devDeliveryMsg = "dev delivery: message not sent, written to the log instead"

// LogEmailer is the development Emailer ("email log"): instead of sending,
// it writes the rendered email, verification code included, to the log at
// Info level. This is deliberate and the only place authgate logs a code;
// do not use it in production.
type LogEmailer struct {
	logger    *zap.Logger
	templates *Templates
}

var _ Emailer = (*LogEmailer)(nil)

// NewLogEmailer returns a LogEmailer writing to logger (nil: discard).
func NewLogEmailer(logger *zap.Logger, opts ...Option) *LogEmailer {
	if logger == nil {
		logger = zap.NewNop()
	}
	o := applyOptions(opts)
	return &LogEmailer{logger: logger, templates: o.templates}
}

// SendEmail validates and renders m exactly as SMTP would, then logs it.
func (l *LogEmailer) SendEmail(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notify: log email: %w", err)
	}
	if err := ValidateEmailRecipient(m.To); err != nil {
		return fmt.Errorf("notify: log email: %w", err)
	}
	e, err := l.templates.RenderEmail(m)
	if err != nil {
		return fmt.Errorf("notify: log email: %w", err)
	}
	fields := []zap.Field{
		zap.String("channel", "email"),
		zap.String("kind", string(m.Kind)),
		zap.String("to", m.To),
		zap.String("subject", e.Subject),
	}
	if m.Code != "" {
		fields = append(fields, zap.String("code", m.Code))
	}
	fields = append(fields, zap.String("body", e.Text))
	l.logger.Info(devDeliveryMsg, fields...)
	return nil
}

// LogTexter is the development Texter ("sms log"): instead of sending, it
// writes the rendered SMS, verification code included, to the log at Info
// level. This is deliberate and the only place authgate logs a code; do
// not use it in production.
type LogTexter struct {
	logger    *zap.Logger
	templates *Templates
}

var _ Texter = (*LogTexter)(nil)

// NewLogTexter returns a LogTexter writing to logger (nil: discard).
func NewLogTexter(logger *zap.Logger, opts ...Option) *LogTexter {
	if logger == nil {
		logger = zap.NewNop()
	}
	o := applyOptions(opts)
	return &LogTexter{logger: logger, templates: o.templates}
}

// SendSMS validates and renders m exactly as the SMS senders would, then
// logs it.
func (l *LogTexter) SendSMS(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notify: log sms: %w", err)
	}
	if err := ValidatePhoneRecipient(m.To); err != nil {
		return fmt.Errorf("notify: log sms: %w", err)
	}
	body, err := l.templates.RenderSMS(m)
	if err != nil {
		return fmt.Errorf("notify: log sms: %w", err)
	}
	fields := []zap.Field{
		zap.String("channel", "sms"),
		zap.String("kind", string(m.Kind)),
		zap.String("to", m.To),
	}
	if m.Code != "" {
		fields = append(fields, zap.String("code", m.Code))
	}
	fields = append(fields, zap.String("body", body))
	l.logger.Info(devDeliveryMsg, fields...)
	return nil
}
