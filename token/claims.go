package token

import (
	"encoding/json"
	"errors"
	"time"
)

// parseClaims decodes and checks the claims that do not depend on the
// clock or the caller.
func parseClaims(payload []byte) (Claims, error) {
	var r rawClaims
	if err := decodeObject(payload, r.decodeMember); err != nil {
		return Claims{}, invalid("claims: %w", err)
	}
	if err := r.checkStrings(); err != nil {
		return Claims{}, err
	}
	if err := r.checkTimes(); err != nil {
		return Claims{}, err
	}
	return r.claims(), nil
}

// rawClaims holds the claims as decoded. Pointers tell a missing member
// from a zero value, which the checks need (an absent exp must not read as
// the epoch).
type rawClaims struct {
	iss, sub, sid, sts, jti, azp *string
	v, iat, nbf, exp             *int64
}

// decodeMember is the decodeObject callback for the claims set. Unknown
// claims are skipped, but aud rejects the token: other token kinds carry
// it, and they must never pass as session tokens.
func (r *rawClaims) decodeMember(name string, dec *json.Decoder) error {
	if name == "aud" {
		return errors.New("aud present: not a session token")
	}
	if dst := r.field(name); dst != nil {
		return dec.Decode(dst)
	}
	return dec.Decode(new(json.RawMessage))
}

// field is where claim name decodes to, or nil for a claim that is not
// read. The table is built per call, on the stack, so that verifying a
// token allocates nothing for it.
func (r *rawClaims) field(name string) any {
	for _, f := range [...]struct {
		name string
		dst  any
	}{
		{"iss", &r.iss}, {"sub", &r.sub}, {"sid", &r.sid}, {"sts", &r.sts}, {"jti", &r.jti}, {"azp", &r.azp},
		{"v", &r.v}, {"iat", &r.iat}, {"nbf", &r.nbf}, {"exp", &r.exp},
	} {
		if f.name == name {
			return f.dst
		}
	}
	return nil
}

// checkStrings checks v and the identifying string claims.
func (r *rawClaims) checkStrings() error {
	switch {
	case r.v == nil || *r.v != Version:
		return invalid("claims: v is not %d", Version)
	case isEmpty(r.iss):
		return invalid("claims: missing iss")
	case isEmpty(r.sub):
		return invalid("claims: missing sub")
	case isEmpty(r.sid):
		return invalid("claims: missing sid")
	case isEmpty(r.jti):
		return invalid("claims: missing jti")
	case r.sts == nil || (*r.sts != StatusActive && *r.sts != StatusPending):
		return invalid("claims: sts is not active or pending")
	}
	return nil
}

// checkTimes checks iat, nbf and exp against each other; the clock is
// checked later by Keyring.checkTimes, with leeway.
func (r *rawClaims) checkTimes() error {
	switch {
	case r.exp == nil:
		return invalid("claims: missing exp")
	case r.iat == nil:
		return invalid("claims: missing iat")
	case r.nbf == nil:
		return invalid("claims: missing nbf")
	case *r.iat <= 0 || *r.nbf <= 0 || *r.exp <= 0 || *r.exp > maxUnix:
		return invalid("claims: time out of range")
	case *r.nbf > *r.iat || *r.iat >= *r.exp:
		return invalid("claims: want nbf <= iat < exp")
	case *r.exp-*r.iat > int64(MaxLifetime/time.Second):
		return invalid("claims: lifetime exceeds %s", MaxLifetime)
	}
	return nil
}

// claims converts checked raw claims; call it only after both checks.
func (r *rawClaims) claims() Claims {
	cl := Claims{
		Issuer:    *r.iss,
		Subject:   *r.sub,
		SessionID: *r.sid,
		Status:    *r.sts,
		ID:        *r.jti,
		IssuedAt:  time.Unix(*r.iat, 0).UTC(),
		NotBefore: time.Unix(*r.nbf, 0).UTC(),
		Expiry:    time.Unix(*r.exp, 0).UTC(),
	}
	if r.azp != nil {
		cl.AuthorizedParty = *r.azp
	}
	return cl
}

// isEmpty reports whether a string claim is missing or "".
func isEmpty(s *string) bool { return s == nil || *s == "" }

// maxUnix is 9999-12-31T23:59:59Z, the largest accepted NumericDate.
const maxUnix = 253402300799
