package caddymodule

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// A sender whose settings its constructor refuses fails the start-up with
// the channel and sender named, and no sender (not a typed nil in the
// interface, which a nil check would miss).
func TestSenderConfigErrorsNameTheSender(t *testing.T) {
	repl := caddy.NewReplacer()
	a := &App{logger: zap.NewNop(),
		Email: &EmailConfig{Sender: "smtp", Address: "no port", From: "a@example.com"},
		SMS:   &SMSConfig{Sender: "twilio"},
	}
	e, err := a.buildEmailer(repl, nil)
	if err == nil || e != nil || !strings.HasPrefix(err.Error(), "configuring email smtp: ") {
		t.Fatalf("buildEmailer = %v, %v; want no sender and a 'configuring email smtp' error", e, err)
	}
	tx, err := a.buildTexter(repl, nil)
	if err == nil || tx != nil || !strings.HasPrefix(err.Error(), "configuring sms twilio: ") {
		t.Fatalf("buildTexter = %v, %v; want no sender and a 'configuring sms twilio' error", tx, err)
	}
	a.SMS = &SMSConfig{Sender: "webhook", URL: "not a url"}
	tx, err = a.buildTexter(repl, nil)
	if err == nil || tx != nil || !strings.HasPrefix(err.Error(), "configuring sms webhook: ") {
		t.Fatalf("buildTexter = %v, %v; want no sender and a 'configuring sms webhook' error", tx, err)
	}
}
