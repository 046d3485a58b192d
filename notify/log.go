package notify

import (
	"context"
	"fmt"

	"go.uber.org/zap"
)

// devDeliveryMsg is the log message of Log entries, so operators (and
// tests) can find them.
const devDeliveryMsg = "dev delivery: message not sent, written to the log instead"

// Log is the development Emailer and Texter ("email log", "sms log"):
// instead of sending, it writes the rendered message, verification code
// included, to the log at Info level. This is deliberate and the only
// place authgate logs a code; do not use it in production.
type Log struct {
	logger    *zap.Logger
	templates *Templates
}

var (
	_ Emailer = (*Log)(nil)
	_ Texter  = (*Log)(nil)
)

// NewLogEmailer returns a Log to wire in as the Emailer, writing to
// logger (nil: discard).
func NewLogEmailer(logger *zap.Logger, opts ...Option) *Log { return newLog(logger, opts) }

// NewLogTexter returns a Log to wire in as the Texter, writing to logger
// (nil: discard).
func NewLogTexter(logger *zap.Logger, opts ...Option) *Log { return newLog(logger, opts) }

func newLog(logger *zap.Logger, opts []Option) *Log {
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Log{logger: logger, templates: applyOptions(opts).templates}
}

// SendEmail validates and renders m exactly as SMTP would, then logs it.
func (l *Log) SendEmail(ctx context.Context, m Message) error {
	return l.send(ctx, "email", m, func() (string, []zap.Field, error) {
		e, err := l.templates.checkedEmail(m)
		return e.Text, []zap.Field{zap.String("subject", e.Subject)}, err
	})
}

// SendSMS validates and renders m exactly as the SMS senders would, then
// logs it.
func (l *Log) SendSMS(ctx context.Context, m Message) error {
	return l.send(ctx, "sms", m, func() (string, []zap.Field, error) {
		body, err := l.templates.checkedSMS(m)
		return body, nil, err
	})
}

// send logs m as delivered on channel, with the body render returns and
// its extra fields (an email's subject) after the recipient. A done ctx
// or a message render refuses is returned and nothing is logged, as a
// real sender would not send it.
func (l *Log) send(ctx context.Context, channel string, m Message, render func() (string, []zap.Field, error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("notify: log %s: %w", channel, err)
	}
	body, extra, err := render()
	if err != nil {
		return fmt.Errorf("notify: log %s: %w", channel, err)
	}
	fields := []zap.Field{zap.String("channel", channel), zap.String("kind", string(m.Kind)), zap.String("to", m.To)}
	fields = append(fields, extra...)
	if m.Code != "" {
		fields = append(fields, zap.String("code", m.Code))
	}
	fields = append(fields, zap.String("body", body))
	l.logger.Info(devDeliveryMsg, fields...)
	return nil
}
