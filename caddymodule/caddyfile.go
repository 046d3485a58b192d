package caddymodule

// The Caddyfile toolkit that the global option (caddyfile_app.go) and the
// site directive (caddyfile_handler.go) share. The parsers check the
// grammar and turn words into values; every check of a value is in
// validate.go, and the parsers run Validate when they are done.

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// subParser parses one subdirective; the dispenser is on its name.
type subParser func(d *caddyfile.Dispenser) error

// parseBlock runs the parser of each subdirective in the block that opens
// at the current token, and notes in at where each one is, as the field
// prefix+name. Unknown subdirectives and subdirectives given twice are
// errors. The repeatable subdirectives may appear more than once.
func parseBlock(d *caddyfile.Dispenser, at positions, prefix string, parsers map[string]subParser, repeatable ...string) error {
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		parse, ok := parsers[name]
		if !ok {
			return d.Errf("unrecognized subdirective '%s'", name)
		}
		if seen[name] && !slices.Contains(repeatable, name) {
			return d.Errf("subdirective '%s' given more than once", name)
		}
		seen[name] = true
		at.note(prefix+name, d)
		if err := parse(d); err != nil {
			return err
		}
	}
	return nil
}

// positions notes the token that set each field (named as in fieldError),
// so that an error of Validate points at the line that set the value, as
// a parse error does. The field "" is the option or directive itself.
type positions map[string]caddyfile.Token

// note records that the line at the dispenser's cursor sets field.
func (p positions) note(field string, d *caddyfile.Dispenser) { p[field] = d.Token() }

// locate adds to a fieldError the position of the line that set its
// field, or of the nearest enclosing field the parser noted.
func (p positions) locate(err error) error {
	var fe *fieldError
	if !errors.As(err, &fe) {
		return err
	}
	field := fe.field
	for {
		if tok, ok := p[field]; ok {
			d := caddyfile.NewDispenser([]caddyfile.Token{tok})
			d.Next()
			return d.WrapErr(err)
		}
		if field == "" {
			return err
		}
		i := strings.LastIndexByte(field, '.')
		field = field[:max(i, 0)]
	}
}

// noBlock returns an error if the current line opens a block, for
// subdirectives that take none.
func noBlock(d *caddyfile.Dispenser, name string) error {
	before := d.Val()
	if d.NextBlock(d.Nesting()) {
		return d.Errf("%s takes no block", name)
	}
	// NextBlock says false for an empty block too (a "{" and, on a later
	// line, its "}"), having read both: refuse it as well, so that a
	// block the writer meant to fill is not silently ignored.
	if d.Val() == "}" && before != "}" {
		return d.Errf("%s takes no block (not an empty one either)", name)
	}
	return nil
}

// noArgs makes sure the rest of the line holds no argument.
func noArgs(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// lineArgs returns the arguments on the rest of the line. An empty one
// (written "") is an error: a JSON config reads an empty value as unset.
func lineArgs(d *caddyfile.Dispenser, name string) ([]string, error) {
	args := d.RemainingArgs()
	if slices.Contains(args, "") {
		return nil, d.Errf("%s: an argument is empty", name)
	}
	return args, nil
}

// lineArgsN is lineArgs for a line of min to max arguments (max < 0: no
// limit); another count is Caddy's argument error.
func lineArgsN(d *caddyfile.Dispenser, name string, min, max int) ([]string, error) {
	args, err := lineArgs(d, name)
	if err == nil && (len(args) < min || max >= 0 && len(args) > max) {
		return nil, d.ArgErr()
	}
	return args, err
}

// oneArg reads exactly one argument on the rest of the line, and no block.
func oneArg(d *caddyfile.Dispenser, name string) (string, error) {
	args, err := lineArgsN(d, name, 1, 1)
	if err != nil {
		return "", err
	}
	if err := noBlock(d, name); err != nil {
		return "", err
	}
	return args[0], nil
}

// oneSecretArg is oneArg for values that are secrets: its errors never
// echo a token of the line.
func oneSecretArg(d *caddyfile.Dispenser, name string) (string, error) {
	args, err := lineArgs(d, name)
	if err != nil {
		return "", err
	}
	if len(args) != 1 {
		return "", d.Errf("%s takes exactly one argument", name)
	}
	if err := noBlock(d, name); err != nil {
		return "", err
	}
	return args[0], nil
}

// stringInto returns a parser of one argument into dst.
func stringInto(dst *string) subParser {
	return func(d *caddyfile.Dispenser) error {
		v, err := oneArg(d, d.Val())
		if err != nil {
			return err
		}
		*dst = v
		return nil
	}
}

// secretInto returns a parser of one secret argument into dst; label
// names it in errors.
func secretInto(dst *string, label string) subParser {
	return func(d *caddyfile.Dispenser) error {
		v, err := oneSecretArg(d, label)
		if err != nil {
			return err
		}
		*dst = v
		return nil
	}
}

// durationInto returns a parser of one positive duration into dst.
func durationInto(dst *caddy.Duration) subParser {
	return func(d *caddyfile.Dispenser) error {
		name := d.Val()
		v, err := oneArg(d, name)
		if err != nil {
			return err
		}
		dur, err := parsePositiveDuration(v)
		if err != nil {
			return d.Errf("%s: %w", name, err)
		}
		*dst = caddy.Duration(dur)
		return nil
	}
}

// countInto returns a parser of one positive integer into dst; label
// names it in errors, r is its range (checked by Validate).
func countInto(dst *int, label string, r intRange) subParser {
	return func(d *caddyfile.Dispenser) error {
		v, err := oneArg(d, d.Val())
		if err != nil {
			return err
		}
		n, err := parseCount(v, r)
		if err != nil {
			return d.Errf("%s: %w", label, err)
		}
		*dst = n
		return nil
	}
}

// onOffInto returns a parser of on|off into dst; label names it in errors.
func onOffInto(dst func(bool), label string) subParser {
	return func(d *caddyfile.Dispenser) error {
		v, err := oneArg(d, d.Val())
		if err != nil {
			return err
		}
		on, err := parseOnOff(v)
		if err != nil {
			return d.Errf("%s: %w", label, err)
		}
		dst(on)
		return nil
	}
}

// parsePositiveDuration parses a Caddy duration (Go syntax plus "d" for
// days) that must be greater than zero.
func parsePositiveDuration(v string) (time.Duration, error) {
	dur, err := caddy.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", v, err)
	}
	if dur <= 0 {
		return 0, errNotPositive(v)
	}
	return dur, nil
}

// parseCount parses a decimal integer above zero; one at or below zero is
// refused with the message of its range r. The rest of the range is
// Validate's.
func parseCount(v string, r intRange) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	if n <= 0 {
		if err := r.check(n); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// parseOnOff parses "on" or "off".
func parseOnOff(v string) (bool, error) {
	switch v {
	case "on":
		return true, nil
	case "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is neither on nor off", v)
}
