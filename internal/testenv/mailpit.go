package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// MailpitServer is a mailpit process (a real SMTP server that keeps every
// message and serves them over a REST API) started for one test.
type MailpitServer struct {
	smtpAddr string
	apiBase  string
	logPath  string
	client   *http.Client
}

// MailpitMessage is one message mailpit received.
type MailpitMessage struct {
	// ID is mailpit's ID for the message.
	ID string
	// From is the From header's address.
	From string
	// To, Cc and Bcc are the recipient addresses; Bcc holds envelope
	// recipients that are in no header.
	To, Cc, Bcc []string
	// Subject is the decoded Subject header.
	Subject string
	// Text is the text/plain body.
	Text string
	// HTML is the text/html body.
	HTML string
	// Username is the SMTP AUTH user the sender logged in as, or "".
	Username string
	// Created is when mailpit received the message.
	Created time.Time
}

// mailpitCodeRE finds a 6-digit code not adjacent to other digits.
var mailpitCodeRE = regexp.MustCompile(`(?:^|\D)(\d{6})(?:\D|$)`)

// mailpitStartAttempts retries startup when a free port was taken between
// choosing it and mailpit binding it.
const mailpitStartAttempts = 3

// Mailpit starts mailpit on two free loopback ports (SMTP and HTTP API)
// with a database in a temporary directory, waits until both answer, and
// stops it in t.Cleanup. extraArgs are appended to the command line, e.g.
// "--smtp-auth-accept-any" or "--smtp-tls-cert", certFile, "--smtp-tls-key",
// keyFile. The binary is looked up in PATH, then in $(go env GOPATH)/bin;
// when missing the test fails (run `make -f xcaddy.mk test`, which installs
// it). Nothing phones home: version checks and reverse DNS are off.
func Mailpit(t testing.TB, extraArgs ...string) *MailpitServer {
	t.Helper()
	bin := mailpitBinary(t)
	var lastErr error
	for attempt := 1; attempt <= mailpitStartAttempts; attempt++ {
		s, err := mailpitStart(t, bin, extraArgs)
		if err == nil {
			return s
		}
		lastErr = err
	}
	t.Fatalf("testenv: mailpit did not start after %d attempts: %v", mailpitStartAttempts, lastErr)
	return nil
}

// mailpitBinary finds the mailpit executable or fails the test.
func mailpitBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	var dirs []string
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		dirs = append(dirs, filepath.SplitList(strings.TrimSpace(string(out)))...)
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		dirs = append(dirs, filepath.SplitList(gp)...)
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "bin", "mailpit")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatalf("testenv: mailpit not found in PATH or $(go env GOPATH)/bin; run `make -f xcaddy.mk test`, which installs it")
	return ""
}

// mailpitFreeAddr returns a loopback address with a port that was free a
// moment ago.
func mailpitFreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find free port: %w", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		return "", fmt.Errorf("release free port: %w", err)
	}
	return addr, nil
}

// mailpitStart makes one attempt to start mailpit. On success it has
// registered the cleanup that stops the process.
func mailpitStart(t testing.TB, bin string, extraArgs []string) (*MailpitServer, error) {
	t.Helper()
	dir := t.TempDir()
	smtpAddr, err := mailpitFreeAddr()
	if err != nil {
		return nil, err
	}
	httpAddr, err := mailpitFreeAddr()
	if err != nil {
		return nil, err
	}
	if smtpAddr == httpAddr {
		return nil, errors.New("got the same free port twice")
	}
	logPath := filepath.Join(dir, "mailpit.log")
	args := []string{
		"--smtp", smtpAddr,
		"--listen", httpAddr,
		"--database", filepath.Join(dir, "mailpit.db"),
		"--disable-version-check",
		"--smtp-disable-rdns",
		"--block-remote-css-and-fonts",
	}
	var proc process
	if _, err := proc.start(cmdLine{bin: bin, args: append(args, extraArgs...), dir: dir, log: logPath}); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	stop := func() { proc.stop(os.Interrupt, 5*time.Second) }

	s := &MailpitServer{
		smtpAddr: smtpAddr,
		apiBase:  "http://" + httpAddr,
		logPath:  logPath,
		client: &http.Client{
			Timeout:   10 * time.Second,
			Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true},
		},
	}
	if err := s.waitReady(proc.exitedChan(), 20*time.Second); err != nil {
		stop()
		return nil, fmt.Errorf("%w\nmailpit log:\n%s", err, s.logTail())
	}
	t.Cleanup(stop)
	return s, nil
}

// waitReady polls until the API answers and the SMTP port accepts a
// connection, the process exits, or timeout passes.
func (s *MailpitServer) waitReady(done <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-done:
			return errors.New("mailpit exited during startup")
		default:
		}
		if s.ready() {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mailpit not ready after %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *MailpitServer) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.apiBase+"/api/v1/messages?limit=1", nil)
	if err != nil {
		return false
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	conn, err := net.DialTimeout("tcp", s.smtpAddr, time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

func (s *MailpitServer) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	const maxTail = 4 << 10
	if len(b) > maxTail {
		b = b[len(b)-maxTail:]
	}
	return string(b)
}

// SMTPAddr is the SMTP server's "127.0.0.1:port".
func (s *MailpitServer) SMTPAddr() string { return s.smtpAddr }

// APIURL is the base URL of mailpit's web UI and REST API.
func (s *MailpitServer) APIURL() string { return s.apiBase }

// mailpitAddress is mailpit's JSON form of an address.
type mailpitAddress struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// mailpitSummary is one entry of GET /api/v1/messages.
type mailpitSummary struct {
	ID       string           `json:"ID"`
	From     *mailpitAddress  `json:"From"`
	To       []mailpitAddress `json:"To"`
	Cc       []mailpitAddress `json:"Cc"`
	Bcc      []mailpitAddress `json:"Bcc"`
	Subject  string           `json:"Subject"`
	Username string           `json:"Username"`
	Created  time.Time        `json:"Created"`
}

// mailpitDetail is GET /api/v1/message/{ID}.
type mailpitDetail struct {
	mailpitSummary
	Date time.Time `json:"Date"`
	Text string    `json:"Text"`
	HTML string    `json:"HTML"`
}

func (m mailpitSummary) sentTo(addr string) bool {
	for _, list := range [][]mailpitAddress{m.To, m.Cc, m.Bcc} {
		for _, a := range list {
			if strings.EqualFold(a.Address, addr) {
				return true
			}
		}
	}
	return false
}

// getJSON GETs path from the API into v.
func (s *MailpitServer) getJSON(path string, v any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.apiBase+path, nil)
	if err != nil {
		return fmt.Errorf("build request for %s: %w", path, err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: status %d: %s", path, resp.StatusCode, bytes.TrimSpace(body))
	}
	if v == nil {
		return nil
	}
	if s, ok := v.(*string); ok {
		*s = string(body)
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// summaries lists every stored message, newest first.
func (s *MailpitServer) summaries() ([]mailpitSummary, error) {
	const page = 250
	var all []mailpitSummary
	for start := 0; ; start += page {
		var resp struct {
			Total    int              `json:"total"`
			Messages []mailpitSummary `json:"messages"`
		}
		q := url.Values{"start": {strconv.Itoa(start)}, "limit": {strconv.Itoa(page)}}
		if err := s.getJSON("/api/v1/messages?"+q.Encode(), &resp); err != nil {
			return nil, err
		}
		all = append(all, resp.Messages...)
		if len(resp.Messages) < page || len(all) >= resp.Total {
			return all, nil
		}
	}
}

func addrs(list []mailpitAddress) []string {
	out := make([]string, 0, len(list))
	for _, a := range list {
		out = append(out, a.Address)
	}
	return out
}

// message fetches the full message id.
func (s *MailpitServer) message(id string) (MailpitMessage, error) {
	var d mailpitDetail
	if err := s.getJSON("/api/v1/message/"+url.PathEscape(id), &d); err != nil {
		return MailpitMessage{}, err
	}
	m := MailpitMessage{
		ID:       d.ID,
		To:       addrs(d.To),
		Cc:       addrs(d.Cc),
		Bcc:      addrs(d.Bcc),
		Subject:  d.Subject,
		Text:     d.Text,
		HTML:     d.HTML,
		Username: d.Username,
		Created:  d.Created,
	}
	if m.Created.IsZero() {
		m.Created = d.Date
	}
	if d.From != nil {
		m.From = d.From.Address
	}
	return m, nil
}

// Messages returns every stored message with bodies, newest first.
func (s *MailpitServer) Messages(t testing.TB) []MailpitMessage {
	t.Helper()
	sums, err := s.summaries()
	if err != nil {
		t.Fatalf("testenv: mailpit: list messages: %v", err)
	}
	return s.withBodies(t, sums)
}

// withBodies fetches the full message of each summary, in order.
func (s *MailpitServer) withBodies(t testing.TB, sums []mailpitSummary) []MailpitMessage {
	t.Helper()
	out := make([]MailpitMessage, 0, len(sums))
	for _, sum := range sums {
		m, err := s.message(sum.ID)
		if err != nil {
			t.Fatalf("testenv: mailpit: get message: %v", err)
		}
		out = append(out, m)
	}
	return out
}

// Count returns how many stored messages went to address to (To, Cc or
// Bcc, case-insensitive). An empty to counts every message.
func (s *MailpitServer) Count(t testing.TB, to string) int {
	t.Helper()
	sums, err := s.summaries()
	if err != nil {
		t.Fatalf("testenv: mailpit: list messages: %v", err)
	}
	if to == "" {
		return len(sums)
	}
	n := 0
	for _, sum := range sums {
		if sum.sentTo(to) {
			n++
		}
	}
	return n
}

// WaitFor polls until at least one message to address to is stored and
// returns the newest, or fails the test after timeout.
func (s *MailpitServer) WaitFor(t testing.TB, to string, timeout time.Duration) MailpitMessage {
	t.Helper()
	msgs := s.WaitForCount(t, to, 1, timeout)
	return msgs[0]
}

// WaitForCount polls until at least n messages to address to are stored
// and returns them with bodies, newest first, or fails the test after
// timeout.
func (s *MailpitServer) WaitForCount(t testing.TB, to string, n int, timeout time.Duration) []MailpitMessage {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		sums, err := s.summaries()
		if err != nil {
			t.Fatalf("testenv: mailpit: list messages: %v", err)
		}
		var matching []mailpitSummary
		for _, sum := range sums {
			if sum.sentTo(to) {
				matching = append(matching, sum)
			}
		}
		if len(matching) >= n {
			return s.withBodies(t, matching)
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: mailpit: %d message(s) to %s after %s, want at least %d", len(matching), to, timeout, n)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// LatestCode waits up to 10s for a message to address to and returns the
// 6-digit code in the newest one (text body, else subject, else HTML
// body), failing the test when there is none.
func (s *MailpitServer) LatestCode(t testing.TB, to string) string {
	t.Helper()
	m := s.WaitFor(t, to, 10*time.Second)
	code, ok := ExtractCode(m.Text)
	if !ok {
		code, ok = ExtractCode(m.Subject)
	}
	if !ok {
		code, ok = ExtractCode(m.HTML)
	}
	if !ok {
		t.Fatalf("testenv: mailpit: no 6-digit code in the newest message to %s (subject %q)", to, m.Subject)
	}
	return code
}

// ExtractCode returns the first 6-digit number in s that is not part of a
// longer number.
func ExtractCode(s string) (string, bool) {
	m := mailpitCodeRE.FindStringSubmatch(s)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// Raw returns the message id as received (headers and MIME body).
func (s *MailpitServer) Raw(t testing.TB, id string) string {
	t.Helper()
	var raw string
	if err := s.getJSON("/api/v1/message/"+url.PathEscape(id)+"/raw", &raw); err != nil {
		t.Fatalf("testenv: mailpit: raw message: %v", err)
	}
	return raw
}

// DeleteAll removes every stored message.
func (s *MailpitServer) DeleteAll(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, s.apiBase+"/api/v1/messages", nil)
	if err != nil {
		t.Fatalf("testenv: mailpit: build delete request: %v", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("testenv: mailpit: delete messages: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("testenv: mailpit: delete messages: status %d", resp.StatusCode)
	}
}
