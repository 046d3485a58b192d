package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Webhook is a Texter that POSTs each SMS as JSON to a URL:
//
//	POST <url>
//	Content-Type: application/json
//
//	{"to": "+15555550100", "body": "Your Example verification code is 123456. ..."}
//
// Any 2xx status is success. Safe for concurrent use.
type Webhook struct {
	url       *url.URL
	client    *http.Client
	templates *Templates
}

var _ Texter = (*Webhook)(nil)

// webhookPayload is the JSON body a Webhook sends.
type webhookPayload struct {
	To   string `json:"to"`
	Body string `json:"body"`
}

// NewWebhook returns a Webhook posting to rawURL (http or https) with
// client. A nil client means one with DefaultHTTPTimeout that does not
// follow redirects. Each request is bounded by client.Timeout, or
// DefaultHTTPTimeout when that is zero.
func NewWebhook(rawURL string, client *http.Client, opts ...Option) (*Webhook, error) {
	u, err := parseEndpoint(rawURL, "sms webhook")
	if err != nil {
		return nil, err
	}
	if client == nil {
		client = defaultHTTPClient()
	}
	o := applyOptions(opts)
	return &Webhook{url: u, client: client, templates: o.templates}, nil
}

// SendSMS renders m and posts it. Errors carry the status or transport
// error, never the body or the code.
func (w *Webhook) SendSMS(ctx context.Context, m Message) error {
	body, err := w.templates.checkedSMS(m)
	if err != nil {
		return fmt.Errorf("notify: sms webhook: %w", err)
	}
	payload, err := json.Marshal(webhookPayload{To: m.To, Body: body})
	if err != nil {
		return fmt.Errorf("notify: sms webhook: encode: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url.String(), bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("notify: sms webhook: build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	status, _, err := do(ctx, w.client, req, "sms webhook")
	if err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("notify: sms webhook: %s answered status %d for %s", w.url.Host, status, m.Kind)
	}
	return nil
}
