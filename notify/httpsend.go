package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// DefaultHTTPTimeout bounds one webhook or Twilio request when no other
// timeout is configured.
const DefaultHTTPTimeout = 10 * time.Second

// maxResponseBody bounds how much of a provider's response is read.
const maxResponseBody = 64 << 10

const userAgent = "authgate-notify"

// parseEndpoint checks that raw is an absolute http(s) URL.
func parseEndpoint(raw, what string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("notify: %s url is empty", what)
	}
	if hasControl(raw) {
		return nil, fmt.Errorf("notify: %s url contains control characters", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("notify: %s url: %w", what, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("notify: %s url %q: want an absolute http or https URL", what, u.Redacted())
	}
	// Codes must not cross a network in clear text: plain http only to
	// this machine (a local relay, a test server).
	if u.Scheme == "http" && !isLoopbackName(u.Hostname()) {
		return nil, fmt.Errorf("notify: %s url %q: use https (plain http is allowed only to localhost)", what, u.Redacted())
	}
	return u, nil
}

// defaultHTTPClient returns a client with DefaultHTTPTimeout that does not
// follow redirects: a redirect must not carry a code to another place.
func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: DefaultHTTPTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// requestTimeout is the per-request deadline for client.
func requestTimeout(client *http.Client) time.Duration {
	if client.Timeout > 0 {
		return client.Timeout
	}
	return DefaultHTTPTimeout
}

// do sends req and returns the status and up to maxResponseBody bytes of
// the body. Errors name host, never the request body.
func do(ctx context.Context, client *http.Client, req *http.Request, what string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout(client))
	defer cancel()
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			// url.Error repeats the whole URL (query strings may hold
			// tokens); keep only the cause.
			err = uerr.Err
		}
		return 0, nil, fmt.Errorf("notify: %s: post to %s: %w", what, req.URL.Host, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil && resp.StatusCode/100 == 2 {
		return 0, nil, fmt.Errorf("notify: %s: read response from %s: %w", what, req.URL.Host, err)
	}
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	return resp.StatusCode, body, nil
}
