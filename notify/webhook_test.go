package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authgate/authgate/notify"
)

func TestWebhookSends(t *testing.T) {
	type request struct {
		method, path, contentType string
		payload                   map[string]any
	}
	got := make(chan request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p map[string]any
		if err := json.Unmarshal(b, &p); err != nil {
			t.Errorf("body is not JSON: %q", b)
		}
		got <- request{r.Method, r.URL.RequestURI(), r.Header.Get("Content-Type"), p}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	wh, err := notify.NewWebhook(srv.URL+"/sms?k=v", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.SendSMS(context.Background(), codeMsg(notify.KindResetCode, "+15555550100")); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.method != http.MethodPost || r.path != "/sms?k=v" || r.contentType != "application/json" {
		t.Errorf("request = %s %s (%s)", r.method, r.path, r.contentType)
	}
	if len(r.payload) != 2 || r.payload["to"] != "+15555550100" {
		t.Errorf("payload = %v, want exactly to and body", r.payload)
	}
	want := "Your Example password reset code is 482913. It expires in 10 minutes. Do not share it with anyone."
	if r.payload["body"] != want {
		t.Errorf("body = %q, want %q", r.payload["body"], want)
	}
}

func TestWebhookErrors(t *testing.T) {
	var status atomic.Int32
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if status.Load() == http.StatusFound {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(int(status.Load()))
		// A provider echoing the request must not leak into the error.
		_, _ = io.Copy(w, r.Body)
	}))
	defer srv.Close()
	wh, err := notify.NewWebhook(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusInternalServerError, http.StatusFound} {
		status.Store(int32(st))
		before := calls.Load()
		err := wh.SendSMS(context.Background(), codeMsg(notify.KindSignInCode, "+15555550100"))
		if err == nil {
			t.Errorf("status %d: no error", st)
			continue
		}
		if !strings.Contains(err.Error(), "status "+strconv.Itoa(st)) {
			t.Errorf("status %d: error %q lacks the status", st, err)
		}
		if strings.Contains(err.Error(), "482913") {
			t.Errorf("status %d: error reveals the code: %v", st, err)
		}
		if calls.Load()-before != 1 {
			t.Errorf("status %d: %d requests, want 1 (redirects are not followed)", st, calls.Load()-before)
		}
	}

	before := calls.Load()
	err = wh.SendSMS(context.Background(), codeMsg(notify.KindSignInCode, "user@example.com"))
	if !errors.Is(err, notify.ErrInvalidRecipient) {
		t.Errorf("bad recipient: err = %v", err)
	}
	if calls.Load() != before {
		t.Error("bad recipient reached the webhook")
	}
}

func TestWebhookTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	wh, err := notify.NewWebhook(srv.URL, &http.Client{Timeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = wh.SendSMS(context.Background(), codeMsg(notify.KindSignInCode, "+15555550100"))
	if err == nil {
		t.Fatal("hanging webhook: no error")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
		t.Errorf("err = %v, want a timeout", err)
	}
	if strings.Contains(err.Error(), "482913") {
		t.Errorf("error reveals the code: %v", err)
	}
}

func TestNewWebhookRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/y", "/relative", "http://", "http://x/\r\n", "::"} {
		if _, err := notify.NewWebhook(u, nil); err == nil {
			t.Errorf("NewWebhook(%q) succeeded", u)
		}
	}
}

func TestWebhookRefusesPlainHTTPToOtherHosts(t *testing.T) {
	for _, u := range []string{"http://sms.example.com/hook", "http://10.0.0.5/hook"} {
		if _, err := notify.NewWebhook(u, nil); err == nil {
			t.Errorf("NewWebhook(%q) accepted plain http to another host", u)
		}
	}
	for _, u := range []string{"https://sms.example.com/hook", "http://127.0.0.1:9099/sms", "http://localhost/sms"} {
		if _, err := notify.NewWebhook(u, nil); err != nil {
			t.Errorf("NewWebhook(%q): %v", u, err)
		}
	}
}
