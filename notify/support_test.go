package notify_test

// What the notify tests share: a message carrying a code, the check that
// a validator refuses every variant of a valid value, and template files.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/authgate/authgate/notify"
)

func codeMsg(k notify.Kind, to string) notify.Message {
	return notify.Message{Kind: k, To: to, Code: "482913", AppName: "Example", ExpiresIn: 10 * time.Minute}
}

// refusesVariants checks that check accepts ok and refuses each variant
// of it (ok changed by one mutation); refused, when set, checks a refusal
// further.
func refusesVariants[T any](t *testing.T, ok T, check func(T) error, refused func(t *testing.T, v T, err error), variants ...map[string]func(*T)) {
	t.Helper()
	if err := check(ok); err != nil {
		t.Fatalf("valid: %v", err)
	}
	all := map[string]func(*T){}
	for _, vs := range variants {
		for name, mutate := range vs {
			if _, dup := all[name]; dup {
				t.Fatalf("two variants named %s", name)
			}
			all[name] = mutate
		}
	}
	for name, mutate := range all {
		t.Run(name, func(t *testing.T) {
			v := ok
			mutate(&v)
			err := check(v)
			if err == nil {
				t.Fatal("accepted")
			}
			if refused != nil {
				refused(t, v, err)
			}
		})
	}
}

// fieldValues is a variant for each of vals: one field (written by set)
// holding it, named field=value. One line a field, not one a value.
func fieldValues[T, V any](field string, set func(*T, V), vals ...V) map[string]func(*T) {
	vs := make(map[string]func(*T), len(vals))
	for _, v := range vals {
		vs[fmt.Sprintf("%s=%q", field, fmt.Sprint(v))] = func(x *T) { set(x, v) }
	}
	return vs
}

// constructs is a check for refusesVariants: whether newSender accepts a
// configuration.
func constructs[C, S any](newSender func(C, ...notify.Option) (S, error)) func(C) error {
	return func(c C) error {
		_, err := newSender(c)
		return err
	}
}

// render renders m with tpl as an email and as an SMS, ending the test
// on an error.
func render(t *testing.T, tpl *notify.Templates, m notify.Message) (notify.RenderedEmail, string) {
	t.Helper()
	e, emailErr := tpl.RenderEmail(m)
	sms, smsErr := tpl.RenderSMS(m)
	if err := errors.Join(emailErr, smsErr); err != nil {
		t.Fatalf("render %s: %v", m.Kind, err)
	}
	return e, sms
}

// writeFile writes content to dir/name and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
