package handlers

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authgate/authgate/apierr"
)

// FuzzReadParamsModel checks readParams against what a form or JSON body
// says, decoded here with the standard library alone. It never panics;
// every refusal is a 4xx API error (garbage is the client's fault, never a
// 500), about the body or naming the parameter at fault; a form body is
// accepted exactly when it parses with each parameter given once, and
// then yields its values; a JSON body is accepted exactly when it is an
// object of strings, numbers, booleans and nulls, and then yields the
// strings unchanged, booleans as "true"/"false", numbers as decimals of
// the same value, and nulls as absent; the query string fills in what the
// body does not set.
func FuzzReadParamsModel(f *testing.F) {
	// The seeds by content type.
	for ct, bodies := range map[string][]string{
		"application/x-www-form-urlencoded":                {"identifier=a%40b.c&password=x", "code=1&code=2", "a=%zz", "a=1;b=2"},
		"application/x-www-form-urlencoded; charset=utf-8": {"a=1&b=&c"},
		"": {"_method=PATCH&x=%E2%9C%93", "%zz"},
		"application/json": {
			`{"identifier":"a@b.c","sign_out_of_other_sessions":true,"n":1.5}`,
			`{"n":1e400}`,
			`{"n":-0,"m":12345678901234567890,"o":1E-7}`,
			`{"_method":null,"a":"\u0000\ud800"}`,
			`{"code":["123456"]}`,
			`{"a":{"b":{}}}`,
			`[1,2]`,
			`null`,
			`{"a":1} {"b":2}`,
			`{"code":"111111","code":"222222"}`,
			`{"a":{"a":1,"a":2},"b":[1,1],"c":3}`,
			`{"a":1,"b":{"x":1},"a":null}`,
			" \n\t",
		},
		"Application/JSON":                {`{"a":"b"}`},
		"text/plain":                      {"x"},
		"multipart/form-data; boundary=x": {"--x--"},
	} {
		for _, body := range bodies {
			f.Add(ct, body)
		}
	}
	f.Fuzz(func(t *testing.T, ct, body string) {
		r := httptest.NewRequest(http.MethodPost, "/x?_method=DELETE&q=1&q=2", strings.NewReader(body))
		r.Header.Set("Content-Type", ct)
		p, err := readParams(httptest.NewRecorder(), r)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Status < 400 || e.Status > 499 {
				t.Fatalf("readParams(%q, %q): error %v is not a 4xx API error", ct, body, err)
			}
			if p != nil {
				t.Fatalf("readParams(%q, %q): params %v with error %v", ct, body, p, err)
			}
		}
		want, wantErr := modelParams(ct, body)
		if wantErr != "" {
			if err == nil {
				t.Fatalf("readParams(%q, %q) = %v, want a refusal (%s)", ct, body, p, wantErr)
			}
			e := apierr.From(err)
			if param, ok := strings.CutPrefix(wantErr, "param "); ok && e.Meta["param_name"] != param {
				t.Fatalf("readParams(%q, %q): error %v does not name %s", ct, body, err, param)
			}
			return
		}
		if err != nil {
			t.Fatalf("readParams(%q, %q): %v, want %+v", ct, body, err, want)
		}
		if len(p) != len(want) {
			t.Fatalf("readParams(%q, %q) = %q, want %+v", ct, body, p, want)
		}
		for k, w := range want {
			got, ok := p[k]
			if !ok || !w.matches(got) {
				t.Fatalf("readParams(%q, %q): %s = %q, want %+v", ct, body, k, got, w)
			}
		}
	})
}

// modelParams decodes what readParams should return for a POST with the
// query _method=DELETE&q=1&q=2: the params, or why it must refuse (a
// reason starting "param " names the parameter the error must name).
func modelParams(ct, body string) (map[string]modelValue, string) {
	want := map[string]modelValue{"_method": {text: "DELETE"}, "q": {text: "1"}}
	if len(body) > maxBody {
		return nil, "too large"
	}
	if strings.TrimSpace(body) == "" {
		return want, ""
	}
	mt, _, _ := mime.ParseMediaType(ct)
	switch mt {
	case "application/json":
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || overflows(body) {
			return nil, "not an object"
		}
		if rest := body[dec.InputOffset():]; strings.Trim(rest, " \t\r\n") != "" {
			return nil, "data after the object"
		}
		// A key given twice is refused like a repeated form field.
		bad := repeatedKeys(body)
		for k, v := range obj {
			switch v := v.(type) {
			case string:
				want[k] = modelValue{text: v}
			case bool:
				want[k] = modelValue{text: strconv.FormatBool(v)}
			case json.Number:
				want[k] = modelValue{text: v.String(), number: true}
			case nil:
				delete(want, k)
			default:
				if !slices.Contains(bad, k) {
					bad = append(bad, k)
				}
			}
		}
		if len(bad) == 1 {
			return nil, "param " + bad[0]
		} else if len(bad) > 1 {
			return nil, "nested or repeated values"
		}
		return want, ""
	case "application/x-www-form-urlencoded", "":
		vals, err := url.ParseQuery(body)
		if err != nil {
			return nil, "not a form"
		}
		var repeated []string
		for k, v := range vals {
			if len(v) != 1 {
				repeated = append(repeated, k)
			}
			want[k] = modelValue{text: v[0]}
		}
		if len(repeated) == 1 {
			return nil, "param " + repeated[0]
		} else if len(repeated) > 1 {
			return nil, "repeated parameters"
		}
		return want, ""
	}
	return nil, "unsupported type"
}

// modelValue is a parameter's value in the model: text, or a JSON
// number's text, which readParams may spell differently.
type modelValue struct {
	text   string
	number bool
}

// matches compares a parameter with the model's value: text exactly, a
// number by its float64 value.
func (w modelValue) matches(got string) bool {
	if !w.number {
		return got == w.text
	}
	wf, err := strconv.ParseFloat(w.text, 64)
	if err != nil {
		return false
	}
	gf, err := strconv.ParseFloat(got, 64)
	return err == nil && gf == wf
}

// repeatedKeys lists the keys the top-level object of a valid JSON text
// gives more than once.
func repeatedKeys(text string) []string {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	seen := map[string]bool{}
	var out []string
	depth, wantKey := 0, false
	for {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			wantKey = depth == 1 && tok == json.Delim('{')
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			wantKey = depth == 1
			continue
		}
		if depth != 1 {
			continue
		}
		if wantKey {
			k := tok.(string)
			if seen[k] && !slices.Contains(out, k) {
				out = append(out, k)
			}
			seen[k] = true
		}
		wantKey = !wantKey
	}
}

// overflows reports whether a JSON text holds a number beyond float64
// anywhere (a repeated key included), which json.Unmarshal refuses.
func overflows(text string) bool {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		if n, ok := tok.(json.Number); ok {
			if _, err := strconv.ParseFloat(n.String(), 64); err != nil {
				return true
			}
		}
	}
}
