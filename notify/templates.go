package notify

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode/utf8"
)

//go:embed templates/*.tmpl
var embeddedTemplates embed.FS

// Template parts. A template file is named "<kind>.<part>.tmpl", for
// example "reset_code.subject.tmpl" or "password_changed.html.tmpl".
const (
	partSubject = "subject" // email subject, text/template; whitespace is collapsed to single spaces
	partText    = "text"    // email text/plain body, text/template
	partHTML    = "html"    // email text/html body, html/template (auto-escaped)
	partSMS     = "sms"     // SMS body, text/template
)

var parts = []string{partSubject, partText, partHTML, partSMS}

// Limits on templates and their output.
const (
	maxTemplateFileSize = 64 << 10
	maxSubjectLen       = 250  // characters, after whitespace is collapsed
	maxSMSLen           = 1600 // characters; Twilio's limit for one message
)

// TemplateFileName returns the file name of one template, as used in the
// directory given to LoadTemplates: "<kind>.<part>.tmpl" where part is
// "subject", "text", "html" or "sms".
func TemplateFileName(k Kind, part string) string {
	return string(k) + "." + part + ".tmpl"
}

// TemplateData is what templates are executed with.
type TemplateData struct {
	// Kind is the message kind.
	Kind Kind
	// AppName is the application's name (never empty).
	AppName string
	// Code is the verification code; always empty for notices.
	Code string
	// ExpiresIn is the code's lifetime in words ("10 minutes", "1 hour"),
	// or empty when unknown or for notices.
	ExpiresIn string
}

// RenderedEmail is an email rendered from templates.
type RenderedEmail struct {
	// Subject is a single line.
	Subject string
	// Text is the text/plain body.
	Text string
	// HTML is the text/html body.
	HTML string
}

// Templates renders messages. The zero value is not usable; get one from
// DefaultTemplates or LoadTemplates. It is immutable and safe for
// concurrent use.
type Templates struct {
	subject map[Kind]*texttemplate.Template
	text    map[Kind]*texttemplate.Template
	html    map[Kind]*htmltemplate.Template
	sms     map[Kind]*texttemplate.Template
}

var defaultTemplates = mustDefaultTemplates()

func mustDefaultTemplates() *Templates {
	t, err := loadTemplates(nil)
	if err != nil {
		// The embedded templates are part of the binary and covered by
		// tests; failing here is a build defect, not bad input.
		panic(fmt.Sprintf("notify: embedded templates: %v", err))
	}
	return t
}

// DefaultTemplates returns the templates embedded in the binary.
func DefaultTemplates() *Templates {
	return defaultTemplates
}

// LoadTemplates reads template overrides from dir. Each file is named as
// TemplateFileName returns ("reset_code.subject.tmpl", ...); a missing file
// falls back to the embedded default, a *.tmpl file with any other name is
// an error (to catch typos), other files are ignored. Every template is
// parsed and test-rendered, so a broken override fails here rather than
// when a user needs a code.
func LoadTemplates(dir string) (*Templates, error) {
	if dir == "" {
		return nil, errors.New("notify: template directory is empty")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("notify: read template directory: %w", err)
	}
	known := make(map[string]bool)
	for _, k := range Kinds() {
		for _, p := range parts {
			known[TemplateFileName(k, p)] = true
		}
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasSuffix(name, ".tmpl") && !known[name] {
			return nil, fmt.Errorf("notify: unknown template file %q in %s (want <kind>.<subject|text|html|sms>.tmpl)", name, dir)
		}
	}
	return loadTemplates(os.DirFS(dir))
}

// loadTemplates parses every template, taking each from override when it
// exists there and from the embedded set otherwise.
func loadTemplates(override fs.FS) (*Templates, error) {
	t := &Templates{
		subject: make(map[Kind]*texttemplate.Template),
		text:    make(map[Kind]*texttemplate.Template),
		html:    make(map[Kind]*htmltemplate.Template),
		sms:     make(map[Kind]*texttemplate.Template),
	}
	for _, k := range Kinds() {
		for _, p := range parts {
			name := TemplateFileName(k, p)
			src, origin, err := readTemplate(override, name)
			if err != nil {
				return nil, err
			}
			var perr error
			switch p {
			case partHTML:
				t.html[k], perr = htmltemplate.New(name).Option("missingkey=error").Parse(src)
			case partSubject:
				t.subject[k], perr = texttemplate.New(name).Option("missingkey=error").Parse(src)
			case partText:
				t.text[k], perr = texttemplate.New(name).Option("missingkey=error").Parse(src)
			case partSMS:
				t.sms[k], perr = texttemplate.New(name).Option("missingkey=error").Parse(src)
			}
			if perr != nil {
				return nil, fmt.Errorf("notify: parse %s template %s: %w", origin, name, perr)
			}
		}
	}
	// Test-render every kind so execution errors (unknown fields, bad
	// output) surface at load time.
	for _, k := range Kinds() {
		sample := Message{Kind: k, AppName: "Example", ExpiresIn: 10 * time.Minute}
		if k.HasCode() {
			sample.Code = "123456"
		}
		email, err := t.RenderEmail(sample)
		if err != nil {
			return nil, fmt.Errorf("notify: test render: %w", err)
		}
		sms, err := t.RenderSMS(sample)
		if err != nil {
			return nil, fmt.Errorf("notify: test render: %w", err)
		}
		if k.HasCode() {
			for part, out := range map[string]string{partText: email.Text, partHTML: email.HTML, partSMS: sms} {
				if !strings.Contains(out, sample.Code) {
					return nil, fmt.Errorf("notify: template %s does not show the code ({{.Code}})", TemplateFileName(k, part))
				}
			}
		}
	}
	return t, nil
}

func readTemplate(override fs.FS, name string) (src, origin string, err error) {
	if override != nil {
		b, err := readLimited(override, name)
		switch {
		case err == nil:
			return string(b), "override", nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", "", fmt.Errorf("notify: read template %s: %w", name, err)
		}
	}
	b, err := readLimited(embeddedTemplates, filepath.ToSlash(filepath.Join("templates", name)))
	if err != nil {
		return "", "", fmt.Errorf("notify: read embedded template %s: %w", name, err)
	}
	return string(b), "embedded", nil
}

func readLimited(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTemplateFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTemplateFileSize {
		return nil, fmt.Errorf("larger than %d bytes", maxTemplateFileSize)
	}
	if !utf8.Valid(b) {
		return nil, errors.New("not valid UTF-8")
	}
	return b, nil
}

// data builds the template data for m. Notices never get the code.
func data(m Message) TemplateData {
	d := TemplateData{Kind: m.Kind, AppName: m.appName()}
	if m.Kind.HasCode() {
		d.Code = m.Code
		d.ExpiresIn = HumanDuration(m.ExpiresIn)
	}
	return d
}

// RenderEmail renders the subject, text and HTML bodies for m. It checks
// m with Validate but not the recipient. Errors never include the code.
func (t *Templates) RenderEmail(m Message) (RenderedEmail, error) {
	if err := m.Validate(); err != nil {
		return RenderedEmail{}, err
	}
	d := data(m)
	var out RenderedEmail
	var buf bytes.Buffer
	if err := t.subject[m.Kind].Execute(&buf, d); err != nil {
		return RenderedEmail{}, fmt.Errorf("notify: render %s subject: %w", m.Kind, err)
	}
	out.Subject = strings.Join(strings.Fields(buf.String()), " ")
	if out.Subject == "" {
		return RenderedEmail{}, fmt.Errorf("notify: render %s subject: empty", m.Kind)
	}
	if utf8.RuneCountInString(out.Subject) > maxSubjectLen || hasControl(out.Subject) {
		return RenderedEmail{}, fmt.Errorf("notify: render %s subject: longer than %d characters or contains control characters", m.Kind, maxSubjectLen)
	}
	buf.Reset()
	if err := t.text[m.Kind].Execute(&buf, d); err != nil {
		return RenderedEmail{}, fmt.Errorf("notify: render %s text body: %w", m.Kind, err)
	}
	out.Text = strings.TrimSpace(buf.String()) + "\n"
	buf.Reset()
	if err := t.html[m.Kind].Execute(&buf, d); err != nil {
		return RenderedEmail{}, fmt.Errorf("notify: render %s html body: %w", m.Kind, err)
	}
	out.HTML = buf.String()
	if strings.TrimSpace(out.Text) == "" || strings.TrimSpace(out.HTML) == "" {
		return RenderedEmail{}, fmt.Errorf("notify: render %s: empty body", m.Kind)
	}
	return out, nil
}

// RenderSMS renders the SMS body for m. It checks m with Validate but not
// the recipient. Errors never include the code.
func (t *Templates) RenderSMS(m Message) (string, error) {
	if err := m.Validate(); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := t.sms[m.Kind].Execute(&buf, data(m)); err != nil {
		return "", fmt.Errorf("notify: render %s sms: %w", m.Kind, err)
	}
	body := strings.TrimSpace(buf.String())
	if body == "" {
		return "", fmt.Errorf("notify: render %s sms: empty", m.Kind)
	}
	if utf8.RuneCountInString(body) > maxSMSLen {
		return "", fmt.Errorf("notify: render %s sms: longer than %d characters", m.Kind, maxSMSLen)
	}
	return body, nil
}

// checkedEmail checks m's recipient and renders its email: what every
// Emailer does before it sends, so that they all refuse the same input.
func (t *Templates) checkedEmail(m Message) (RenderedEmail, error) {
	if err := ValidateEmailRecipient(m.To); err != nil {
		return RenderedEmail{}, err
	}
	return t.RenderEmail(m)
}

// checkedSMS is checkedEmail for an SMS and its phone recipient.
func (t *Templates) checkedSMS(m Message) (string, error) {
	if err := ValidatePhoneRecipient(m.To); err != nil {
		return "", err
	}
	return t.RenderSMS(m)
}

// HumanDuration writes d in words, largest units first, rounded to the
// second: "10 minutes", "1 hour", "1 hour 30 minutes", "45 seconds". It
// returns "" for d < 1s.
func HumanDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < time.Second {
		return ""
	}
	units := []struct {
		size time.Duration
		name string
	}{{time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}}
	var words []string
	for _, u := range units {
		n := d / u.size
		d -= n * u.size
		switch {
		case n == 1:
			words = append(words, "1 "+u.name)
		case n > 1:
			words = append(words, strconv.FormatInt(int64(n), 10)+" "+u.name+"s")
		}
	}
	return strings.Join(words, " ")
}
