package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/authgate/authgate/apierr"
)

// maxBody bounds every request body the API reads.
const maxBody = 64 << 10

// params are the parameters of one API request: the form or JSON body
// merged over the query string. Unknown parameters are ignored.
type params map[string]string

// readParams parses a form (application/x-www-form-urlencoded) or JSON
// body. Repeated parameters and nested JSON values are refused.
func readParams(w http.ResponseWriter, r *http.Request) (params, error) {
	p := params{}
	for k, v := range r.URL.Query() {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return p, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, apierr.RequestBodyInvalid.WithLongMessage(fmt.Sprintf("The request body is larger than %d bytes.", maxBody))
		}
		return nil, apierr.RequestBodyInvalid
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return p, nil
	}
	switch ct {
	case "application/json":
		if err := readJSONParams(body, p); err != nil {
			return nil, err
		}
	case "application/x-www-form-urlencoded", "":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, apierr.RequestBodyInvalid.WithLongMessage("The form body could not be parsed.")
		}
		for k, v := range vals {
			if len(v) > 1 {
				return nil, apierr.FormParamFormatInvalid.WithParam(k).WithLongMessage(k + " was given more than once.")
			}
			p[k] = v[0]
		}
	default:
		return nil, apierr.RequestBodyInvalid.WithLongMessage("Send the body as application/x-www-form-urlencoded or application/json.")
	}
	return p, nil
}

// readJSONParams sets p from a JSON object of strings, numbers, booleans
// and nulls (a null unsets). Like a form, it refuses a parameter given
// twice: json.Unmarshal would keep the last, so two readers of one body
// (a proxy, a WAF, this server) could disagree on what it says.
func readJSONParams(body []byte, p params) error {
	notObject := apierr.RequestBodyInvalid.WithLongMessage("The request body is not a JSON object.")
	if !json.Valid(body) {
		return notObject
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return notObject
	}
	if tok == nil {
		return nil // null: no parameters, as json.Unmarshal into a map reads it
	}
	if tok != json.Delim('{') {
		return notObject
	}
	seen := map[string]bool{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return notObject
		}
		k := kt.(string) // json.Valid: an object's keys are strings
		if seen[k] {
			return apierr.FormParamFormatInvalid.WithParam(k).WithLongMessage(k + " was given more than once.")
		}
		seen[k] = true
		v, err := dec.Token()
		if err != nil {
			return notObject // a number beyond float64
		}
		switch t := v.(type) {
		case string:
			p[k] = t
		case bool:
			p[k] = strconv.FormatBool(t)
		case float64:
			p[k] = strconv.FormatFloat(t, 'f', -1, 64)
		case nil:
			delete(p, k)
		default: // '[' or '{'
			return apierr.FormParamFormatInvalid.WithParam(k).WithLongMessage(k + " must be a string, number or boolean.")
		}
	}
	return nil
}

// flag reads a boolean parameter with a default.
func (p params) flag(name string, def bool) (bool, error) {
	v, ok := p[name]
	if !ok || v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, apierr.FormParamFormatInvalid.WithParam(name).WithLongMessage(name + " must be true or false.")
	}
	return b, nil
}
