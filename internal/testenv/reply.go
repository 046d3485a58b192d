package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
)

// ErrorCode is the code of the first error of a Clerk error envelope
// ({"errors":[{"code":...}]}) in body, or "" when body is not one: the
// handler, Caddy and soak tests read answers through it.
func ErrorCode(body []byte) string {
	var env struct {
		Errors []struct {
			Code string `json:"code"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &env) != nil || len(env.Errors) == 0 {
		return ""
	}
	return env.Errors[0].Code
}

// DecodeJSON unmarshals body into v, failing the test with the body when
// it is not v's JSON.
func DecodeJSON(tb testing.TB, body []byte, v any) {
	tb.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		b := body
		if len(b) > 300 {
			b = b[:300]
		}
		tb.Fatalf("decode %s: %v", b, err)
	}
}

// JSONRequest is a request with body encoded as JSON (nil: no body), the
// way the admin API is called.
func JSONRequest(method, url string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", method, url, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// AdminUser is the admin API's user object (DESIGN.md §8), as the Caddy
// and soak tests read it.
type AdminUser struct {
	ID             string `json:"id"`
	EmailAddresses []struct {
		ID           string `json:"id"`
		EmailAddress string `json:"email_address"`
	} `json:"email_addresses"`
	PasswordEnabled     bool  `json:"password_enabled"`
	PasswordCompromised bool  `json:"password_compromised"`
	CreatedAt           int64 `json:"created_at"`
	// Second factors (issue 11).
	TwoFactorEnabled  bool `json:"two_factor_enabled"`
	TOTPEnabled       bool `json:"totp_enabled"`
	BackupCodeEnabled bool `json:"backup_code_enabled"`
}
