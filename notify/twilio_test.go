package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/notify"
)

type twilioRequest struct {
	method, path, contentType string
	user, pass                string
	authOK                    bool
	form                      map[string][]string
}

func fakeTwilio(t *testing.T, status int, body string) (*httptest.Server, <-chan twilioRequest) {
	t.Helper()
	got := make(chan twilioRequest, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parse form: %v", err)
		}
		u, p, ok := r.BasicAuth()
		got <- twilioRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), u, p, ok, r.PostForm}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestTwilioSends(t *testing.T) {
	srv, got := fakeTwilio(t, http.StatusCreated, `{"sid":"SM123","status":"queued"}`)
	tw, err := notify.NewTwilio(notify.TwilioConfig{AccountSID: "AC0123abc", AuthToken: "tok-secret", From: "+15555550000", BaseURL: srv.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.SendSMS(context.Background(), codeMsg(notify.KindSignInCode, "+15555550100")); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.method != http.MethodPost || r.path != "/2010-04-01/Accounts/AC0123abc/Messages.json" {
		t.Errorf("request = %s %s", r.method, r.path)
	}
	if r.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("content type = %q", r.contentType)
	}
	if !r.authOK || r.user != "AC0123abc" || r.pass != "tok-secret" {
		t.Errorf("basic auth = %v %q %q", r.authOK, r.user, r.pass)
	}
	want := map[string]string{
		"To":   "+15555550100",
		"From": "+15555550000",
		"Body": "Your Example verification code is 482913. It expires in 10 minutes. Do not share it with anyone.",
	}
	if len(r.form) != len(want) {
		t.Errorf("form = %v, want exactly %v", r.form, want)
	}
	for k, v := range want {
		if got := r.form[k]; len(got) != 1 || got[0] != v {
			t.Errorf("form %s = %q, want %q", k, got, v)
		}
	}
}

func TestTwilioErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"twilio error json", http.StatusBadRequest, `{"code": 21211, "message": "The 'To' number +15555550100 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`, []string{"400", "21211", "not a valid phone number"}},
		{"auth error", http.StatusUnauthorized, `{"code": 20003, "message": "Authenticate", "status": 401}`, []string{"401", "20003", "Authenticate"}},
		{"not json", http.StatusBadGateway, `<html>bad gateway</html>`, []string{"502"}},
		{"ok status but wrong", http.StatusOK + 100, ``, []string{"300"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, got := fakeTwilio(t, tc.status, tc.body)
			tw, err := notify.NewTwilio(notify.TwilioConfig{AccountSID: "AC1", AuthToken: "tok-secret", From: "+15555550000", BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			err = tw.SendSMS(context.Background(), codeMsg(notify.KindResetCode, "+15555550100"))
			if err == nil {
				t.Fatal("no error")
			}
			<-got
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, secret := range []string{"482913", "tok-secret"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error reveals %q: %v", secret, err)
				}
			}
		})
	}
}

func TestTwilioRefusesBadRecipient(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer srv.Close()
	tw, err := notify.NewTwilio(notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15555550000", BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"5555550100", "+15555550100&From=+1999", "+1555555\r\n0100"} {
		if err := tw.SendSMS(context.Background(), codeMsg(notify.KindResetCode, to)); !errors.Is(err, notify.ErrInvalidRecipient) {
			t.Errorf("%q: err = %v, want ErrInvalidRecipient", to, err)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("%d requests reached Twilio", calls.Load())
	}
}

func TestNewTwilioConfigErrors(t *testing.T) {
	ok := notify.TwilioConfig{AccountSID: "AC1", AuthToken: "t", From: "+15555550000"}
	refusesVariants(t, ok, constructs(notify.NewTwilio), nil,
		// No SID, and one that would change the request path.
		fieldValues("AccountSID", func(c *notify.TwilioConfig, v string) { c.AccountSID = v }, "", "AC1/../x"),
		fieldValues("AuthToken", func(c *notify.TwilioConfig, v string) { c.AuthToken = v }, ""),
		fieldValues("From", func(c *notify.TwilioConfig, v string) { c.From = v }, ""),
		fieldValues("BaseURL", func(c *notify.TwilioConfig, v string) { c.BaseURL = v }, "api.twilio.com"),
		fieldValues("Timeout", func(c *notify.TwilioConfig, v time.Duration) { c.Timeout = v }, -1))
}
