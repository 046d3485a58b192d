package handlers

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authgate/authgate/apierr"
)

// A parameter given twice is refused in a JSON body as in a form (which
// value counts would otherwise depend on the parser), naming it; a key
// repeated inside a nested value is refused for the nesting.
func TestReadParamsRefusesRepeatedParameters(t *testing.T) {
	for _, tc := range []struct{ ct, body, param string }{
		{"application/x-www-form-urlencoded", "code=111111&code=222222", "code"},
		{"application/json", `{"code":"111111","code":"222222"}`, "code"},
		{"application/json", `{"strategy":"email_code","code":"1","code":null}`, "code"},
		{"application/json", `{"a":{"b":1,"b":2}}`, "a"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.ct)
		p, err := readParams(httptest.NewRecorder(), r)
		if err == nil {
			t.Fatalf("%s %s: accepted as %v", tc.ct, tc.body, p)
		}
		e := apierr.From(err)
		if e.Status != http.StatusUnprocessableEntity || e.Code != "form_param_format_invalid" || e.Meta["param_name"] != tc.param {
			t.Errorf("%s %s: %d %s %v, want 422 form_param_format_invalid naming %s", tc.ct, tc.body, e.Status, e.Code, e.Meta, tc.param)
		}
	}
	// Distinct keys, and the same key in two nested objects, still read.
	r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(`{"code":"123456","strategy":"email_code","n":2,"ok":true,"gone":null}`))
	r.Header.Set("Content-Type", "application/json")
	p, err := readParams(httptest.NewRecorder(), r)
	if err != nil || p["code"] != "123456" || p["strategy"] != "email_code" || p["n"] != "2" || p["ok"] != "true" {
		t.Fatalf("readParams = %v, %v", p, err)
	}
	if _, ok := p["gone"]; ok {
		t.Fatalf("a null parameter is set: %v", p)
	}
}
