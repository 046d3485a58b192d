package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// TLS modes for SMTPConfig.TLS.
const (
	// SMTPTLSNone sends in clear text. Only for a relay on the same host or
	// a trusted network.
	SMTPTLSNone = "none"
	// SMTPTLSStartTLS connects in clear text and requires STARTTLS before
	// anything else is sent (no downgrade). The default.
	SMTPTLSStartTLS = "starttls"
	// SMTPTLSImplicit speaks TLS from the first byte (SMTPS, usually port 465).
	SMTPTLSImplicit = "implicit"
)

// DefaultSMTPTimeout bounds one delivery (connect, TLS, auth, send) when
// SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 15 * time.Second

// SMTPConfig configures an SMTP sender.
type SMTPConfig struct {
	// Address is the server as "host:port".
	Address string
	// From is the sender: "no-reply@example.com" or
	// "Example <no-reply@example.com>".
	From string
	// TLS is SMTPTLSNone, SMTPTLSStartTLS or SMTPTLSImplicit; empty means
	// SMTPTLSStartTLS.
	TLS string
	// Username enables SMTP AUTH (PLAIN, else LOGIN, else the strongest
	// other mechanism the server offers). Empty means no authentication.
	Username string
	// Password goes with Username.
	Password string
	// Timeout bounds one delivery; zero means DefaultSMTPTimeout.
	Timeout time.Duration
	// RootCAs verifies the server certificate; nil means the system roots.
	// Certificates are always verified, against the host part of Address.
	RootCAs *x509.CertPool
}

// SMTP is an Emailer that delivers through an SMTP server. Each message
// uses its own connection. Safe for concurrent use.
type SMTP struct {
	host      string
	port      int
	addr      string
	from      netmail.Address
	tlsMode   string
	username  string
	password  string
	timeout   time.Duration
	tlsConfig *tls.Config
	templates *Templates
}

var _ Emailer = (*SMTP)(nil)

// NewSMTP checks cfg and returns an SMTP sender. It does not connect.
func NewSMTP(cfg SMTPConfig, opts ...Option) (*SMTP, error) {
	host, portStr, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp address %q: %w", sanitizeForError(cfg.Address), err)
	}
	port, err := strconv.Atoi(portStr)
	if host == "" || err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("notify: smtp address %q: want host:port", sanitizeForError(cfg.Address))
	}
	if cfg.From == "" {
		return nil, errors.New("notify: smtp from address is empty")
	}
	if hasControl(cfg.From) {
		return nil, errors.New("notify: smtp from address contains control characters")
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp from address %q: %w", sanitizeForError(cfg.From), err)
	}
	mode := strings.ToLower(strings.TrimSpace(cfg.TLS))
	switch mode {
	case "":
		mode = SMTPTLSStartTLS
	case SMTPTLSNone, SMTPTLSStartTLS, SMTPTLSImplicit:
	default:
		return nil, fmt.Errorf("notify: smtp tls %q: want none, starttls or implicit", sanitizeForError(cfg.TLS))
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("notify: smtp password set without username")
	}
	if hasControl(cfg.Username) {
		return nil, errors.New("notify: smtp username contains control characters")
	}
	if cfg.Username != "" && mode == SMTPTLSNone && !isLoopbackName(host) {
		return nil, fmt.Errorf("notify: smtp tls none with a username would send the password in clear text to %s; use starttls or implicit", sanitizeForError(host))
	}
	timeout := cfg.Timeout
	switch {
	case timeout < 0:
		return nil, errors.New("notify: smtp timeout is negative")
	case timeout == 0:
		timeout = DefaultSMTPTimeout
	}
	o := applyOptions(opts)
	s := &SMTP{
		host:     host,
		port:     port,
		addr:     net.JoinHostPort(host, portStr),
		from:     *from,
		tlsMode:  mode,
		username: cfg.Username,
		password: cfg.Password,
		timeout:  timeout,
		tlsConfig: &tls.Config{
			ServerName: host,
			RootCAs:    cfg.RootCAs,
			MinVersion: tls.VersionTLS12,
		},
		templates: o.templates,
	}
	// Build one client now so option errors surface at configuration time.
	if _, err := s.newClient(); err != nil {
		return nil, err
	}
	return s, nil
}

// isLoopbackName matches the names go-mail lets PLAIN/LOGIN authenticate
// to without TLS.
func isLoopbackName(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// newClient builds a go-mail client. A fresh one per message keeps SMTP
// safe for concurrent use (go-mail's Client holds per-connection state).
func (s *SMTP) newClient() (*mail.Client, error) {
	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tlsConfig.Clone()),
	}
	switch s.tlsMode {
	case SMTPTLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case SMTPTLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case SMTPTLSImplicit:
		opts = append(opts, mail.WithSSL())
	}
	if s.username != "" {
		opts = append(opts,
			mail.WithUsername(s.username),
			mail.WithPassword(s.password),
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin),
		)
	}
	c, err := mail.NewClient(s.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("notify: smtp client for %s: %w", s.addr, err)
	}
	return c, nil
}

// SendEmail renders m and delivers it as a multipart text+HTML message.
// m.To must be one bare address without control characters. Errors carry
// the kind and server, never the code or the password.
func (s *SMTP) SendEmail(ctx context.Context, m Message) error {
	e, err := s.templates.checkedEmail(m)
	if err != nil {
		return fmt.Errorf("notify: smtp: %w", err)
	}
	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	if err := msg.FromFormat(s.from.Name, s.from.Address); err != nil {
		return fmt.Errorf("notify: smtp: set from: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("notify: smtp: %w: %w", ErrInvalidRecipient, err)
	}
	msg.Subject(e.Subject)
	// RFC 3834: automatic mail; asks auto-responders not to answer.
	msg.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(mail.HeaderXAutoResponseSuppress, "All")
	msg.SetBodyString(mail.TypeTextPlain, e.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)

	client, err := s.newClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("notify: smtp: send %s via %s (tls %s): %w", m.Kind, s.addr, s.tlsMode, err)
	}
	return nil
}
