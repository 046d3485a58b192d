package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/authgate/authgate/notify"
)

// observedLog is the Log sender newLog makes, writing to an observer of
// every level.
func observedLog(newLog func(*zap.Logger, ...notify.Option) *notify.Log) (*notify.Log, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return newLog(zap.New(core)), logs
}

func TestLogEmailer(t *testing.T) {
	e, logs := observedLog(notify.NewLogEmailer)
	if err := e.SendEmail(context.Background(), codeMsg(notify.KindResetCode, "user@example.com")); err != nil {
		t.Fatal(err)
	}
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("got %d log entries, want 1", len(entries))
	}
	got := entries[0]
	if got.Level != zapcore.InfoLevel {
		t.Errorf("level = %s, want info", got.Level)
	}
	if !strings.HasPrefix(got.Message, "dev delivery") {
		t.Errorf("message = %q, want a dev delivery message", got.Message)
	}
	f := got.ContextMap()
	if f["code"] != "482913" || f["to"] != "user@example.com" || f["channel"] != "email" || f["kind"] != "reset_code" {
		t.Errorf("fields = %v", f)
	}
	if body, _ := f["body"].(string); !strings.Contains(body, "482913") {
		t.Errorf("body field lacks the code: %q", body)
	}

	// Notices log no code field.
	if err := e.SendEmail(context.Background(), notify.Message{Kind: notify.KindPasswordChanged, To: "user@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := logs.All()[1].ContextMap()["code"]; ok {
		t.Error("notice logged a code field")
	}

	// Bad input is refused and nothing is logged.
	err := e.SendEmail(context.Background(), codeMsg(notify.KindResetCode, "a@x.com\r\nBcc: evil@y.com"))
	if !errors.Is(err, notify.ErrInvalidRecipient) {
		t.Errorf("CRLF recipient: err = %v, want ErrInvalidRecipient", err)
	}
	if logs.Len() != 2 {
		t.Errorf("refused message was logged")
	}
}

func TestLogTexter(t *testing.T) {
	s, logs := observedLog(notify.NewLogTexter)
	if err := s.SendSMS(context.Background(), codeMsg(notify.KindSignInCode, "+15555550100")); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 1 {
		t.Fatalf("got %d log entries, want 1", logs.Len())
	}
	got := logs.All()[0]
	f := got.ContextMap()
	if got.Level != zapcore.InfoLevel || f["code"] != "482913" || f["to"] != "+15555550100" || f["channel"] != "sms" {
		t.Errorf("entry = %s %q %v", got.Level, got.Message, f)
	}
	if f["body"] != "Your Example verification code is 482913. It expires in 10 minutes. Do not share it with anyone." {
		t.Errorf("body = %q", f["body"])
	}
	if err := s.SendSMS(context.Background(), codeMsg(notify.KindSignInCode, "user@example.com")); !errors.Is(err, notify.ErrInvalidRecipient) {
		t.Errorf("email as phone: err = %v, want ErrInvalidRecipient", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.SendSMS(ctx, codeMsg(notify.KindSignInCode, "+15555550100")); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v", err)
	}
	if logs.Len() != 1 {
		t.Errorf("refused messages were logged")
	}
	// A nil logger does not panic.
	if err := notify.NewLogTexter(nil).SendSMS(context.Background(), codeMsg(notify.KindSignInCode, "+15555550100")); err != nil {
		t.Errorf("nil logger: %v", err)
	}
}
