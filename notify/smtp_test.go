package notify_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authgate/authgate/internal/testenv"
	"github.com/authgate/authgate/notify"
)

const testFrom = "Example <no-reply@example.com>"

// testCert writes a self-signed certificate for 127.0.0.1 and localhost and
// returns its files and a pool trusting it.
func testCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "authgate test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func newSMTP(t *testing.T, cfg notify.SMTPConfig, opts ...notify.Option) *notify.SMTP {
	t.Helper()
	if cfg.From == "" {
		cfg.From = testFrom
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	s, err := notify.NewSMTP(cfg, opts...)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

func TestSMTPPlainDelivery(t *testing.T) {
	mp := testenv.Mailpit(t)
	s := newSMTP(t, notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "none"})
	ctx := context.Background()

	if err := s.SendEmail(ctx, codeMsg(notify.KindResetCode, "user@example.com")); err != nil {
		t.Fatal(err)
	}
	got := mp.WaitFor(t, "user@example.com", 5*time.Second)
	want, _ := render(t, notify.DefaultTemplates(), codeMsg(notify.KindResetCode, ""))
	if got.Subject != want.Subject || got.Subject != "Your Example password reset code" {
		t.Errorf("subject = %q, want %q", got.Subject, want.Subject)
	}
	if got.From != "no-reply@example.com" || len(got.To) != 1 || got.To[0] != "user@example.com" || len(got.Cc)+len(got.Bcc) != 0 {
		t.Errorf("from %q to %v cc %v bcc %v", got.From, got.To, got.Cc, got.Bcc)
	}
	if strings.TrimSpace(strings.ReplaceAll(got.Text, "\r\n", "\n")) != strings.TrimSpace(want.Text) {
		t.Errorf("text body\n got %q\nwant %q", got.Text, want.Text)
	}
	if !strings.Contains(got.HTML, ">482913</p>") {
		t.Errorf("html body lacks the code: %q", got.HTML)
	}
	if code := mp.LatestCode(t, "user@example.com"); code != "482913" {
		t.Errorf("LatestCode = %q", code)
	}
	raw := mp.Raw(t, got.ID)
	for _, h := range []string{"multipart/alternative", "text/plain", "text/html", "Auto-Submitted: auto-generated", "Message-ID:", "Date:"} {
		if !strings.Contains(raw, h) {
			t.Errorf("raw message lacks %q", h)
		}
	}
	if strings.Contains(raw, "go-mail") {
		t.Error("raw message advertises the mail library")
	}

	// A notice, then a second code: LatestCode follows the newest.
	if err := s.SendEmail(ctx, notify.Message{Kind: notify.KindPasswordChanged, To: "user@example.com", AppName: "Example"}); err != nil {
		t.Fatal(err)
	}
	notice := mp.WaitForCount(t, "user@example.com", 2, 5*time.Second)[0]
	if notice.Subject != "Your Example password was changed" {
		t.Errorf("notice subject = %q", notice.Subject)
	}
	if _, found := testenv.ExtractCode(notice.Text + notice.HTML); found {
		t.Errorf("notice contains a 6-digit number: %q", notice.Text)
	}
	second := codeMsg(notify.KindSignInCode, "User@Example.com")
	second.Code = "000731"
	if err := s.SendEmail(ctx, second); err != nil {
		t.Fatal(err)
	}
	mp.WaitForCount(t, "user@example.com", 3, 5*time.Second)
	if code := mp.LatestCode(t, "user@example.com"); code != "000731" {
		t.Errorf("LatestCode after second code = %q, want 000731", code)
	}
	if n := mp.Count(t, "user@example.com"); n != 3 {
		t.Errorf("Count = %d, want 3", n)
	}
	if n := mp.Count(t, "other@example.com"); n != 0 {
		t.Errorf("Count(other) = %d, want 0", n)
	}
	if all := mp.Messages(t); len(all) != 3 || all[0].Subject != "Your Example verification code" {
		t.Errorf("Messages: %d, newest %q", len(all), all[0].Subject)
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	mp := testenv.Mailpit(t)
	s := newSMTP(t, notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "none"})
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := codeMsg(notify.KindSignInCode, fmt.Sprintf("u%d@example.com", i))
			m.Code = fmt.Sprintf("1000%02d", i)
			errs <- s.SendEmail(context.Background(), m)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	for i := range n {
		if code := mp.LatestCode(t, fmt.Sprintf("u%d@example.com", i)); code != fmt.Sprintf("1000%02d", i) {
			t.Errorf("u%d got code %q", i, code)
		}
	}
}

func TestSMTPStartTLSWithAuth(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	authFile := writeFile(t, t.TempDir(), "auth", "alice:s3cret-pw\n")
	mp := testenv.Mailpit(t, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile,
		"--smtp-require-starttls", "--smtp-auth-file", authFile)
	ctx := context.Background()
	cfg := notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "starttls", Username: "alice", Password: "s3cret-pw", RootCAs: pool}

	if err := newSMTP(t, cfg).SendEmail(ctx, codeMsg(notify.KindResetCode, "tls@example.com")); err != nil {
		t.Fatal(err)
	}
	got := mp.WaitFor(t, "tls@example.com", 5*time.Second)
	if got.Username != "alice" {
		t.Errorf("authenticated as %q, want alice", got.Username)
	}
	if code := mp.LatestCode(t, "tls@example.com"); code != "482913" {
		t.Errorf("code = %q", code)
	}

	// TLS defaults to starttls.
	def := cfg
	def.TLS = ""
	if err := newSMTP(t, def).SendEmail(ctx, codeMsg(notify.KindResetCode, "default@example.com")); err != nil {
		t.Fatalf("default tls mode: %v", err)
	}
	mp.WaitFor(t, "default@example.com", 5*time.Second)

	refused := []struct {
		name string
		cfg  notify.SMTPConfig
	}{
		{"untrusted certificate", notify.SMTPConfig{Address: cfg.Address, TLS: "starttls", Username: "alice", Password: "s3cret-pw"}},
		{"wrong password", notify.SMTPConfig{Address: cfg.Address, TLS: "starttls", Username: "alice", Password: "wrong-pw", RootCAs: pool}},
		{"no credentials", notify.SMTPConfig{Address: cfg.Address, TLS: "starttls", RootCAs: pool}},
		{"no tls", notify.SMTPConfig{Address: cfg.Address, TLS: "none"}},
		{"implicit tls against starttls port", notify.SMTPConfig{Address: cfg.Address, TLS: "implicit", RootCAs: pool}},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			to := strings.ReplaceAll(tc.name, " ", "-") + "@example.com"
			err := newSMTP(t, tc.cfg).SendEmail(ctx, codeMsg(notify.KindResetCode, to))
			if err == nil {
				t.Fatal("send succeeded")
			}
			for _, secret := range []string{"482913", "s3cret-pw", "wrong-pw"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals %q: %v", secret, err)
				}
			}
			if n := mp.Count(t, to); n != 0 {
				t.Errorf("%d message(s) delivered", n)
			}
		})
	}
}

func TestSMTPStartTLSRequiredNoDowngrade(t *testing.T) {
	mp := testenv.Mailpit(t) // offers no STARTTLS
	s := newSMTP(t, notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "starttls"})
	err := s.SendEmail(context.Background(), codeMsg(notify.KindResetCode, "user@example.com"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a STARTTLS error", err)
	}
	if n := mp.Count(t, ""); n != 0 {
		t.Errorf("%d message(s) delivered in clear text", n)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	certFile, keyFile, pool := testCert(t)
	mp := testenv.Mailpit(t, "--smtp-tls-cert", certFile, "--smtp-tls-key", keyFile, "--smtp-require-tls", "--smtp-auth-accept-any")
	s := newSMTP(t, notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "implicit", RootCAs: pool, Username: "bob", Password: "pw"})
	if err := s.SendEmail(context.Background(), notify.Message{Kind: notify.KindPasswordCompromised, To: "smtps@example.com"}); err != nil {
		t.Fatal(err)
	}
	got := mp.WaitFor(t, "smtps@example.com", 5*time.Second)
	if got.Subject != "Action required: reset your authgate password" || got.Username != "bob" {
		t.Errorf("subject %q user %q", got.Subject, got.Username)
	}
	// The same server refuses clear text.
	plain := newSMTP(t, notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "none", Timeout: 500 * time.Millisecond})
	if err := plain.SendEmail(context.Background(), notify.Message{Kind: notify.KindPasswordChanged, To: "plain@example.com"}); err == nil {
		t.Error("clear text send to an implicit-TLS server succeeded")
	}
}

func TestSMTPAuthWithoutTLSOnLoopback(t *testing.T) {
	authFile := writeFile(t, t.TempDir(), "auth", "carol:pw-123\n")
	mp := testenv.Mailpit(t, "--smtp-auth-file", authFile, "--smtp-auth-allow-insecure")
	ok := newSMTP(t, notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "none", Username: "carol", Password: "pw-123"})
	if err := ok.SendEmail(context.Background(), codeMsg(notify.KindSignInCode, "auth@example.com")); err != nil {
		t.Fatal(err)
	}
	if got := mp.WaitFor(t, "auth@example.com", 5*time.Second); got.Username != "carol" {
		t.Errorf("authenticated as %q, want carol", got.Username)
	}
	bad := newSMTP(t, notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "none", Username: "carol", Password: "nope-456"})
	err := bad.SendEmail(context.Background(), codeMsg(notify.KindSignInCode, "auth2@example.com"))
	if err == nil {
		t.Fatal("wrong password accepted")
	}
	if strings.Contains(err.Error(), "nope-456") || strings.Contains(err.Error(), "482913") {
		t.Errorf("error reveals a secret: %v", err)
	}
	if n := mp.Count(t, ""); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

func TestSMTPRefusesHeaderInjection(t *testing.T) {
	mp := testenv.Mailpit(t)
	s := newSMTP(t, notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "none"})
	ctx := context.Background()
	for _, to := range []string{
		"a@x.com\r\nBcc: evil@y.com",
		"a@x.com\nBcc: evil@y.com",
		"a@x.com\rBcc: evil@y.com",
		"a@x.com\r\n\r\nbody",
		"a@x.com, evil@y.com",
		"Evil <evil@y.com>",
		"a@x.com\u2028Bcc: evil@y.com",
	} {
		err := s.SendEmail(ctx, codeMsg(notify.KindResetCode, to))
		if !errors.Is(err, notify.ErrInvalidRecipient) {
			t.Errorf("%q: err = %v, want ErrInvalidRecipient", to, err)
		}
	}
	// CR/LF in other fields is refused too.
	m := codeMsg(notify.KindResetCode, "a@x.com")
	m.AppName = "Ex\r\nBcc: evil@y.com"
	if err := s.SendEmail(ctx, m); !errors.Is(err, notify.ErrInvalidMessage) {
		t.Errorf("CRLF app name: err = %v, want ErrInvalidMessage", err)
	}
	// A valid message afterwards is the only one that arrives.
	if err := s.SendEmail(ctx, codeMsg(notify.KindResetCode, "barrier@example.com")); err != nil {
		t.Fatal(err)
	}
	mp.WaitFor(t, "barrier@example.com", 5*time.Second)
	if n := mp.Count(t, ""); n != 1 {
		t.Errorf("%d messages stored, want only the valid one", n)
	}
	for _, addr := range []string{"evil@y.com", "a@x.com"} {
		if n := mp.Count(t, addr); n != 0 {
			t.Errorf("%d message(s) to %s", n, addr)
		}
	}
}

func TestSMTPTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "password_changed.subject.tmpl", "[{{.AppName}}] security notice")
	writeFile(t, dir, "password_changed.text.tmpl", "Custom text for {{.AppName}}.")
	tpl, err := notify.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	mp := testenv.Mailpit(t)
	s := newSMTP(t, notify.SMTPConfig{Address: mp.SMTPAddr(), TLS: "none"}, notify.WithTemplates(tpl))
	if err := s.SendEmail(context.Background(), notify.Message{Kind: notify.KindPasswordChanged, To: "o@example.com", AppName: "Acme"}); err != nil {
		t.Fatal(err)
	}
	got := mp.WaitFor(t, "o@example.com", 5*time.Second)
	if got.Subject != "[Acme] security notice" || strings.TrimSpace(got.Text) != "Custom text for Acme." {
		t.Errorf("subject %q text %q", got.Subject, got.Text)
	}
	if !strings.Contains(got.HTML, "The password for your Acme account was just changed.") {
		t.Errorf("html did not fall back to the embedded template: %q", got.HTML)
	}
}

func TestSMTPErrorsHideCode(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens here now
	s := newSMTP(t, notify.SMTPConfig{Address: addr, TLS: "none"})
	err = s.SendEmail(context.Background(), codeMsg(notify.KindResetCode, "user@example.com"))
	if err == nil {
		t.Fatal("send to a closed port succeeded")
	}
	if strings.Contains(err.Error(), "482913") || !strings.Contains(err.Error(), addr) {
		t.Errorf("error = %v: want the server address and not the code", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.SendEmail(ctx, codeMsg(notify.KindResetCode, "user@example.com")); err == nil {
		t.Error("canceled context: send succeeded")
	}
}

func TestNewSMTPConfigErrors(t *testing.T) {
	ok := notify.SMTPConfig{Address: "127.0.0.1:1025", From: testFrom, TLS: "none"}
	refusesVariants(t, ok, constructs(notify.NewSMTP), nil,
		// No port, a port out of range, no host.
		fieldValues("Address", func(c *notify.SMTPConfig, v string) { c.Address = v }, "127.0.0.1", "127.0.0.1:99999", ":25"),
		fieldValues("From", func(c *notify.SMTPConfig, v string) { c.From = v }, "", "not an address", "a@x.com\r\nBcc: evil@y.com"),
		fieldValues("TLS", func(c *notify.SMTPConfig, v string) { c.TLS = v }, "ssl"),
		fieldValues("Timeout", func(c *notify.SMTPConfig, v time.Duration) { c.Timeout = v }, -time.Second),
		map[string]func(c *notify.SMTPConfig){
			"password without user": func(c *notify.SMTPConfig) { c.Password = "pw" },
			"clear text auth to remote host": func(c *notify.SMTPConfig) {
				c.Address = "smtp.example.com:25"
				c.Username = "u"
			},
		})
}
