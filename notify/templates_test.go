package notify_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authgate/authgate/notify"
)

func TestDefaultTemplatesRenderEveryKind(t *testing.T) {
	tpl := notify.DefaultTemplates()
	for _, k := range notify.Kinds() {
		t.Run(string(k), func(t *testing.T) {
			m := notify.Message{Kind: k, AppName: "Example"}
			if k.HasCode() {
				m = codeMsg(k, "")
			}
			e, sms := render(t, tpl, m)
			if e.Subject == "" || strings.ContainsAny(e.Subject, "\r\n") {
				t.Errorf("subject %q: want one non-empty line", e.Subject)
			}
			for name, out := range map[string]string{"subject": e.Subject, "text": e.Text, "html": e.HTML, "sms": sms} {
				if !strings.Contains(out, "Example") {
					t.Errorf("%s does not name the app: %q", name, out)
				}
			}
			if !strings.HasPrefix(e.HTML, "<!DOCTYPE html>") {
				t.Errorf("html body does not start with a doctype: %.40q", e.HTML)
			}
			if k.HasCode() {
				for name, out := range map[string]string{"text": e.Text, "html": e.HTML, "sms": sms} {
					if !strings.Contains(out, "482913") {
						t.Errorf("%s lacks the code: %q", name, out)
					}
					if !strings.Contains(out, "10 minutes") {
						t.Errorf("%s lacks the expiry: %q", name, out)
					}
				}
				if strings.Contains(e.Subject, "482913") {
					t.Errorf("subject reveals the code: %q", e.Subject)
				}
			}
		})
	}
}

func TestSMSBody(t *testing.T) {
	_, got := render(t, notify.DefaultTemplates(), codeMsg(notify.KindSignInCode, "+15555550100"))
	want := "Your Example verification code is 482913. It expires in 10 minutes. Do not share it with anyone."
	if got != want {
		t.Errorf("sms body\n got %q\nwant %q", got, want)
	}
	m := codeMsg(notify.KindResetCode, "+15555550100")
	m.ExpiresIn = 0
	m.AppName = ""
	_, got = render(t, notify.DefaultTemplates(), m)
	want = "Your authgate password reset code is 482913. Do not share it with anyone."
	if got != want {
		t.Errorf("sms body without expiry and app name\n got %q\nwant %q", got, want)
	}
}

func TestNoticesCarryNoCode(t *testing.T) {
	for _, k := range []notify.Kind{notify.KindPasswordChanged, notify.KindPasswordCompromised} {
		m := notify.Message{Kind: k, AppName: "Example", Code: "482913"}
		if _, err := notify.DefaultTemplates().RenderEmail(m); !errors.Is(err, notify.ErrInvalidMessage) {
			t.Errorf("%s email with a code: err = %v, want ErrInvalidMessage", k, err)
		}
		if _, err := notify.DefaultTemplates().RenderSMS(m); !errors.Is(err, notify.ErrInvalidMessage) {
			t.Errorf("%s sms with a code: err = %v, want ErrInvalidMessage", k, err)
		}
		// ExpiresIn on a notice is ignored, not shown.
		m.Code = ""
		m.ExpiresIn = 10 * time.Minute
		e, sms := render(t, notify.DefaultTemplates(), m)
		if strings.Contains(e.Text, "expires") || strings.Contains(e.HTML, "expires") {
			t.Errorf("%s notice mentions an expiry: %q", k, e.Text)
		}
		if strings.Contains(sms, "expires") {
			t.Errorf("%s notice sms mentions an expiry: %q", k, sms)
		}
	}
}

func TestHTMLEscapesAppName(t *testing.T) {
	m := codeMsg(notify.KindResetCode, "")
	m.AppName = `<script>alert("x")</script>`
	e, _ := render(t, notify.DefaultTemplates(), m)
	if strings.Contains(e.HTML, "<script>") {
		t.Errorf("html body contains the raw app name: %s", e.HTML)
	}
	if !strings.Contains(e.HTML, "&lt;script&gt;") {
		t.Errorf("html body lacks the escaped app name: %s", e.HTML)
	}
}

func TestMessageValidate(t *testing.T) {
	refusesVariants(t, codeMsg(notify.KindResetCode, ""), notify.Message.Validate, func(t *testing.T, m notify.Message, err error) {
		if !errors.Is(err, notify.ErrInvalidMessage) {
			t.Fatalf("err = %v, want ErrInvalidMessage", err)
		}
		if strings.Contains(err.Error(), m.Code) && m.Code != "" {
			t.Errorf("error reveals the code: %v", err)
		}
	},
		// A notice (password_changed) with a code is refused too.
		fieldValues("Kind", func(m *notify.Message, v notify.Kind) { m.Kind = v }, "nope", "", notify.KindPasswordChanged),
		fieldValues("Code", func(m *notify.Message, v string) { m.Code = v }, "", "12345", "1234567890123", "12345a"),
		fieldValues("AppName", func(m *notify.Message, v string) { m.AppName = v }, "Ex\r\nBcc: a@b.c", "Ex\x00", strings.Repeat("a", 101), "Ex\xff"),
		fieldValues("ExpiresIn", func(m *notify.Message, v time.Duration) { m.ExpiresIn = v }, -time.Second))
}

func TestValidateEmailRecipient(t *testing.T) {
	good := []string{"a@example.com", "first.last+tag@sub.example.org", "ÿ@example.com"}
	for _, to := range good {
		if err := notify.ValidateEmailRecipient(to); err != nil {
			t.Errorf("%q: %v", to, err)
		}
	}
	bad := []string{
		"",
		"a@x.com\r\nBcc: evil@y.com",
		"a@x.com\nBcc: evil@y.com",
		"a@x.com\rBcc: evil@y.com",
		"a@x.com\x00",
		"a@x.com, evil@y.com",
		"Alice <a@x.com>",
		"<a@x.com>",
		" a@x.com",
		"a@x.com ",
		"not-an-address",
		"a@",
		strings.Repeat("a", 250) + "@x.com",
	}
	for _, to := range bad {
		if err := notify.ValidateEmailRecipient(to); !errors.Is(err, notify.ErrInvalidRecipient) {
			t.Errorf("%q: err = %v, want ErrInvalidRecipient", to, err)
		}
	}
}

func TestValidatePhoneRecipient(t *testing.T) {
	for _, to := range []string{"+15555550100", "+4915112345678", "+1234567"} {
		if err := notify.ValidatePhoneRecipient(to); err != nil {
			t.Errorf("%q: %v", to, err)
		}
	}
	for _, to := range []string{"", "15555550100", "+05555550100", "+1555555010a", "+1 555 555 0100", "+1234567890123456", "+123456", "+15555550100\n"} {
		if err := notify.ValidatePhoneRecipient(to); !errors.Is(err, notify.ErrInvalidRecipient) {
			t.Errorf("%q: err = %v, want ErrInvalidRecipient", to, err)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	tests := map[time.Duration]string{
		0:                                     "",
		400 * time.Millisecond:                "",
		time.Second:                           "1 second",
		45 * time.Second:                      "45 seconds",
		time.Minute:                           "1 minute",
		10 * time.Minute:                      "10 minutes",
		90 * time.Second:                      "1 minute 30 seconds",
		time.Hour:                             "1 hour",
		90 * time.Minute:                      "1 hour 30 minutes",
		24 * time.Hour:                        "24 hours",
		10*time.Minute + 499*time.Millisecond: "10 minutes",
	}
	for d, want := range tests {
		if got := notify.HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestLoadTemplatesOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, notify.TemplateFileName(notify.KindResetCode, "subject"), "{{.AppName}}:\n  reset\tcode\n")
	writeFile(t, dir, notify.TemplateFileName(notify.KindResetCode, "sms"), "{{.Code}} is your {{.AppName}} code ({{.ExpiresIn}})")
	writeFile(t, dir, notify.TemplateFileName(notify.KindResetCode, "html"), `<p>Code <b>{{.Code}}</b> for {{.AppName}}</p>`)
	writeFile(t, dir, "README.md", "not a template, ignored")

	tpl, err := notify.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := codeMsg(notify.KindResetCode, "")
	m.AppName = "A&B"
	e, sms := render(t, tpl, m)
	if e.Subject != "A&B: reset code" {
		t.Errorf("overridden subject = %q (whitespace must collapse)", e.Subject)
	}
	if e.HTML != `<p>Code <b>482913</b> for A&amp;B</p>` {
		t.Errorf("overridden html = %q", e.HTML)
	}
	def, _ := render(t, notify.DefaultTemplates(), m)
	if e.Text != def.Text {
		t.Errorf("text without override = %q, want the embedded default %q", e.Text, def.Text)
	}
	if sms != "482913 is your A&B code (10 minutes)" {
		t.Errorf("overridden sms = %q", sms)
	}
	// Other kinds keep the defaults.
	other := codeMsg(notify.KindSignInCode, "")
	got, gotSMS := render(t, tpl, other)
	want, wantSMS := render(t, notify.DefaultTemplates(), other)
	if got != want || gotSMS != wantSMS {
		t.Errorf("sign_in_code changed by a reset_code override")
	}
}

func TestLoadTemplatesErrors(t *testing.T) {
	tests := map[string]struct{ name, content string }{
		"unknown file":        {"reset_cod.subject.tmpl", "x"},
		"parse error":         {"reset_code.text.tmpl", "{{.Code"},
		"unknown field":       {"password_changed.text.tmpl", "{{.Password}}"},
		"code not shown":      {"sign_in_code.sms.tmpl", "Your code is ready"},
		"code not in html":    {"reset_code.html.tmpl", "<p>hello</p>"},
		"empty subject":       {"password_changed.subject.tmpl", "  \n"},
		"invalid utf-8":       {"password_changed.text.tmpl", "bad \xff"},
		"subject too long":    {"password_changed.subject.tmpl", strings.Repeat("x", 251)},
		"sms too long":        {"password_changed.sms.tmpl", strings.Repeat("x", 1601)},
		"html parse error":    {"password_changed.html.tmpl", "<a href=\"{{.AppName}}"},
		"notice with no body": {"password_changed.text.tmpl", "   "},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, tc.name, tc.content)
			if _, err := notify.LoadTemplates(dir); err == nil {
				t.Fatal("LoadTemplates succeeded, want an error")
			}
		})
	}
	if _, err := notify.LoadTemplates(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing directory: want an error")
	}
	if _, err := notify.LoadTemplates(""); err == nil {
		t.Error("empty directory name: want an error")
	}
}
