package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultTwilioBaseURL is Twilio's REST API.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// TwilioConfig configures a Twilio sender.
type TwilioConfig struct {
	// AccountSID is the account ("AC..."); it is the basic-auth user and
	// part of the URL.
	AccountSID string
	// AuthToken is the basic-auth password.
	AuthToken string
	// From is the sending number (E.164) or alphanumeric sender ID.
	From string
	// BaseURL replaces DefaultTwilioBaseURL (tests, regional edges).
	BaseURL string
	// Timeout bounds one request; zero means DefaultHTTPTimeout.
	Timeout time.Duration
	// Client sends the requests; nil means a client that does not follow
	// redirects. Its Timeout, if set, is overridden by Timeout when that is
	// set.
	Client *http.Client
}

// Twilio is a Texter that sends through Twilio's Messages API:
// POST {base}/2010-04-01/Accounts/{sid}/Messages.json with form fields To,
// From and Body and basic auth sid:token. Safe for concurrent use.
type Twilio struct {
	endpoint  string
	host      string
	sid       string
	token     string
	from      string
	client    *http.Client
	templates *Templates
}

var _ Texter = (*Twilio)(nil)

// twilioError is the JSON body Twilio returns with an error status.
type twilioError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// NewTwilio checks cfg and returns a Twilio sender. It does not connect.
func NewTwilio(cfg TwilioConfig, opts ...Option) (*Twilio, error) {
	if cfg.AccountSID == "" {
		return nil, errors.New("notify: twilio account sid is empty")
	}
	for _, r := range cfg.AccountSID {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') {
			return nil, errors.New("notify: twilio account sid must be letters and digits")
		}
	}
	if cfg.AuthToken == "" {
		return nil, errors.New("notify: twilio auth token is empty")
	}
	if hasControl(cfg.AuthToken) {
		return nil, errors.New("notify: twilio auth token contains control characters")
	}
	if cfg.From == "" || hasControl(cfg.From) {
		return nil, errors.New("notify: twilio from is empty or contains control characters")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultTwilioBaseURL
	}
	u, err := parseEndpoint(base, "twilio base")
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("notify: twilio timeout is negative")
	}
	client := cfg.Client
	if client == nil {
		client = defaultHTTPClient()
	}
	if cfg.Timeout > 0 {
		c := *client
		c.Timeout = cfg.Timeout
		client = &c
	}
	endpoint := strings.TrimRight(u.String(), "/") + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json"
	o := applyOptions(opts)
	return &Twilio{
		endpoint:  endpoint,
		host:      u.Host,
		sid:       cfg.AccountSID,
		token:     cfg.AuthToken,
		from:      cfg.From,
		client:    client,
		templates: o.templates,
	}, nil
}

// SendSMS renders m and asks Twilio to send it. A 2xx status (Twilio
// answers 201) is success; otherwise the error carries the status and
// Twilio's error code and message, never the body or the code.
func (t *Twilio) SendSMS(ctx context.Context, m Message) error {
	body, err := t.templates.checkedSMS(m)
	if err != nil {
		return fmt.Errorf("notify: twilio: %w", err)
	}
	form := url.Values{"To": {m.To}, "From": {t.from}, "Body": {body}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("notify: twilio: build request: %w", err)
	}
	req.SetBasicAuth(t.sid, t.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	status, respBody, err := do(ctx, t.client, req, "twilio")
	if err != nil {
		return err
	}
	if status >= 200 && status <= 299 {
		return nil
	}
	var te twilioError
	if json.Unmarshal(respBody, &te) == nil && (te.Code != 0 || te.Message != "") {
		return fmt.Errorf("notify: twilio: status %d sending %s: error %d: %s", status, m.Kind, te.Code, sanitizeN(te.Message, 200))
	}
	return fmt.Errorf("notify: twilio: status %d sending %s", status, m.Kind)
}
