package handlers_test

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/authgate/authgate/handlers"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Sync() error { return nil }

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// observedLogger is a logger at every level whose entries the test reads.
func observedLogger() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs
}

// TestLogsHoldNoSecrets runs the flows with every log level on and
// checks that no password, code, token or client handle reaches the log
// (C-47), while the audit events do.
func TestLogsHoldNoSecrets(t *testing.T) {
	buf := &syncBuffer{}
	logger := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), buf, zap.DebugLevel))
	e, u := aliceEnv(t, func(o *envOpt) { o.logger = logger })

	b := e.browser()
	expect(t, b.post("/v1/client/sign_ins", form("identifier", "alice@example.com", "password", "Wrong-Sentinel-Pass")), 422, "form_password_or_identifier_incorrect")
	b.signIn("alice@example.com", alicePW)
	b.get("/app", navigation)

	r := b.post("/v1/client/sign_ins", form("strategy", "reset_password_email_code", "identifier", "alice@example.com"))
	code := e.mail.LatestCode(t, "alice@example.com")
	expect(t, b.post("/v1/client/sign_ins/"+r.str("id")+"/attempt_first_factor",
		form("strategy", "reset_password_email_code", "code", code, "password", "New-Sentinel-Passphrase")), 200, "")
	e.compromise(u, false)
	e.eng.Deliveries.Wait()

	var secrets []string
	secrets = append(secrets, alicePW, "Wrong-Sentinel-Pass", "New-Sentinel-Passphrase", code)
	for _, c := range b.jar.Cookies(mustURL(t, e.http.URL).URL) {
		if c.Name == handlers.CookieClientUAT {
			continue // a time (Unix seconds), no secret: the log's own timestamps hold it
		}
		secrets = append(secrets, c.Value)
		if i := strings.LastIndexByte(c.Value, '.'); i > 0 {
			secrets = append(secrets, c.Value[i+1:]) // a JWT's signature alone
		}
	}
	logs := buf.String()
	for _, s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			t.Errorf("the log contains a secret (%d chars)", len(s))
		}
	}
	for _, event := range []string{`"msg":"sign_in"`, `"msg":"password_reset"`, `"msg":"code_sent"`} {
		if !strings.Contains(logs, event) {
			t.Errorf("audit event %s missing from the log", event)
		}
	}
}

func mustURL(t *testing.T, raw string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, raw, nil)
	noErr(t, err)
	return r
}
