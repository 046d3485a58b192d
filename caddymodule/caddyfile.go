package caddymodule

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authgate/authgate/tasks"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("authgate", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("authgate", parseHandlerDirective)
	// Ordered like forward_auth: after basic_auth, before forward_auth and
	// therefore before request_header, encode, the routing directives
	// (handle, route, ...) and every responder (respond, reverse_proxy,
	// file_server, ...). No `order` line is needed.
	httpcaddyfile.RegisterDirectiveOrder("authgate", httpcaddyfile.Before, "forward_auth")
}

// Limits enforced on configuration values. They follow the security
// checklist: at most 100 failed sign-ins before lockout (C-14), at most 5
// wrong tries per code (C-23), email codes valid at most 24 h (C-20),
// passwords of at least 8 and at most 256 code points (D-1, N-2).
const (
	minPasswordMinLength = 8
	maxPasswordMinLength = 256
	maxCodeMaxAttempts   = 5
	maxCodeTTL           = 24 * time.Hour
	maxLockoutAttempts   = 100
)

// Values accepted by the enumerated subdirectives.
var (
	signingAlgs    = []string{"RS256", "EdDSA", "ES256"}
	smtpTLSModes   = []string{"none", "starttls", "implicit"}
	breachOnErrors = []string{"refuse", "accept"}
	// redisSchemes are the URL schemes of the redis storage backend.
	redisSchemes = []string{"redis", "rediss", "redis+sentinel", "redis+cluster"}
)

// parseGlobalOption parses the `authgate` global option into the authgate
// app. A bare `authgate` line yields the app with every default, so that
// the app is loaded.
func parseGlobalOption(d *caddyfile.Dispenser, existingVal any) (any, error) {
	if existingVal != nil {
		d.Next()
		return nil, d.Err("the authgate global option may be given only once")
	}
	app := new(App)
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	var warnings []caddyconfig.Warning
	raw := caddyconfig.JSON(app, &warnings)
	if len(warnings) > 0 {
		return nil, d.Errf("encoding authgate app config: %s", warnings[0].Message)
	}
	return httpcaddyfile.App{Name: "authgate", Value: raw}, nil
}

// parseHandlerDirective parses the `authgate` site directive into the
// http.handlers.authgate handler.
func parseHandlerDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := new(Handler)
	if err := handler.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return handler, nil
}

// subParser parses one subdirective; the dispenser is on its name.
type subParser func(d *caddyfile.Dispenser) error

// parseBlock runs the parser of each subdirective in the block that opens
// at the current token. Unknown subdirectives and subdirectives given twice
// are errors. The repeatable subdirectives may appear more than once.
func parseBlock(d *caddyfile.Dispenser, parsers map[string]subParser, repeatable ...string) error {
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
		if err := parse(d); err != nil {
			return err
		}
	}
	return nil
}

// noBlock returns an error if the current line opens a block, for
// subdirectives that take none.
func noBlock(d *caddyfile.Dispenser, name string) error {
	if d.NextBlock(d.Nesting()) {
		return d.Errf("%s takes no block", name)
	}
	return nil
}

// oneArg reads exactly one argument on the rest of the line, and no block.
// parseAppName reads `app_name <name>` (quote names with spaces).
func (a *App) parseAppName(d *caddyfile.Dispenser) error {
	v, err := oneArg(d, "app_name")
	if err != nil {
		return err
	}
	if v == "" || len(v) > 100 || strings.ContainsAny(v, "\r\n") {
		return d.Errf("app_name: want one line of 1 to 100 bytes")
	}
	a.AppName = v
	return nil
}

// parseTemplates reads `templates <dir>`: a folder of message templates
// that override the embedded ones (file names as in notify/templates).
func (a *App) parseTemplates(d *caddyfile.Dispenser) error {
	v, err := oneArg(d, "templates")
	if err != nil {
		return err
	}
	a.Templates = v
	return nil
}

func oneArg(d *caddyfile.Dispenser, name string) (string, error) {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return "", d.ArgErr()
	}
	if err := noBlock(d, name); err != nil {
		return "", err
	}
	return args[0], nil
}

// oneSecretArg is oneArg for values that are secrets: its errors never
// echo a token of the line.
func oneSecretArg(d *caddyfile.Dispenser, name string) (string, error) {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return "", d.Errf("%s takes exactly one argument", name)
	}
	if err := noBlock(d, name); err != nil {
		return "", err
	}
	return args[0], nil
}

// noArgs makes sure the rest of the line holds no argument.
func noArgs(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// UnmarshalCaddyfile sets up the app from the `authgate` global option.
// Syntax:
//
//	authgate {
//		storage file [<path>]
//		storage redis <url>
//		issuer <origin>
//		signing_alg RS256|EdDSA|ES256
//		token_lifetime <duration>
//		session_lifetime <duration>
//		email smtp {
//			address <host:port>
//			from <address>
//			tls none|starttls|implicit
//			username <username>
//			password <password>
//		}
//		email log
//		sms webhook <url>
//		sms twilio {
//			account_sid <sid>
//			auth_token <token>
//			from <E.164 number>
//			base_url <url>
//		}
//		sms log
//		password {
//			min_length <n>
//			breach hibp [<url>]
//			breach file <index>
//			breach common|off
//			breach_on_sign_in on|off
//			breach_on_error refuse|accept
//		}
//		code_ttl <duration>
//		code_max_attempts <n>
//		enumeration_protection on|off
//		lockout <attempts> <duration>
//	}
//
// A bare `authgate` line uses every default. Each subdirective may be
// given once. Values may hold placeholders such as {env.SMTP_PASSWORD};
// they are kept as written and expanded when the app is provisioned, and
// values with placeholders skip the format checks made here.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume option name
	if err := noArgs(d); err != nil {
		return err
	}
	return parseBlock(d, map[string]subParser{
		"storage":                a.parseStorage,
		"issuer":                 a.parseIssuer,
		"signing_alg":            a.parseSigningAlg,
		"token_lifetime":         durationInto(&a.TokenLifetime),
		"session_lifetime":       durationInto(&a.SessionLifetime),
		"email":                  a.parseEmail,
		"sms":                    a.parseSMS,
		"password":               a.parsePassword,
		"code_ttl":               a.parseCodeTTL,
		"code_max_attempts":      a.parseCodeMaxAttempts,
		"enumeration_protection": a.parseEnumerationProtection,
		"lockout":                a.parseLockout,
		"templates":              a.parseTemplates,
		"app_name":               a.parseAppName,
	})
}

func (a *App) parseStorage(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) == 0 || len(args) > 2 {
		return d.ArgErr()
	}
	switch args[0] {
	case "file":
		cfg := &StorageConfig{Backend: "file"}
		if len(args) == 2 {
			if strings.TrimSpace(args[1]) == "" {
				return d.Err("storage file: the path is empty")
			}
			cfg.Path = args[1]
		}
		a.Storage = cfg
	case "redis":
		if len(args) != 2 {
			return d.ArgErr()
		}
		if err := validateRedisURL(args[1]); err != nil {
			return d.Errf("storage redis: %w", err)
		}
		a.Storage = &StorageConfig{Backend: "redis", URL: args[1]}
	default:
		return d.Errf("storage: unknown backend %q (want file or redis)", args[0])
	}
	return noBlock(d, "storage")
}

func (a *App) parseIssuer(d *caddyfile.Dispenser) error {
	v, err := oneArg(d, "issuer")
	if err != nil {
		return err
	}
	if err := validateIssuer(v); err != nil {
		return d.Errf("issuer: %w", err)
	}
	a.Issuer = v
	return nil
}

func (a *App) parseSigningAlg(d *caddyfile.Dispenser) error {
	v, err := oneArg(d, "signing_alg")
	if err != nil {
		return err
	}
	if !slices.Contains(signingAlgs, v) {
		return d.Errf("signing_alg: unsupported algorithm %q (want RS256, EdDSA or ES256)", v)
	}
	a.SigningAlg = v
	return nil
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

func (a *App) parseCodeTTL(d *caddyfile.Dispenser) error {
	v, err := oneArg(d, "code_ttl")
	if err != nil {
		return err
	}
	dur, err := parsePositiveDuration(v)
	if err != nil {
		return d.Errf("code_ttl: %w", err)
	}
	if dur > maxCodeTTL {
		return d.Errf("code_ttl: %q is longer than %s", v, maxCodeTTL)
	}
	a.CodeTTL = caddy.Duration(dur)
	return nil
}

func (a *App) parseCodeMaxAttempts(d *caddyfile.Dispenser) error {
	v, err := oneArg(d, "code_max_attempts")
	if err != nil {
		return err
	}
	n, err := parseIntInRange(v, 1, maxCodeMaxAttempts)
	if err != nil {
		return d.Errf("code_max_attempts: %w", err)
	}
	a.CodeMaxAttempts = n
	return nil
}

func (a *App) parseEnumerationProtection(d *caddyfile.Dispenser) error {
	v, err := oneArg(d, "enumeration_protection")
	if err != nil {
		return err
	}
	on, err := parseOnOff(v)
	if err != nil {
		return d.Errf("enumeration_protection: %w", err)
	}
	a.EnumerationProtection = &on
	return nil
}

func (a *App) parseLockout(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) != 2 {
		return d.ArgErr()
	}
	n, err := parseIntInRange(args[0], 1, maxLockoutAttempts)
	if err != nil {
		return d.Errf("lockout: attempts: %w", err)
	}
	dur, err := parsePositiveDuration(args[1])
	if err != nil {
		return d.Errf("lockout: duration: %w", err)
	}
	a.Lockout = &LockoutConfig{Attempts: n, Duration: caddy.Duration(dur)}
	return noBlock(d, "lockout")
}

func (a *App) parseEmail(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return d.ArgErr()
	}
	switch args[0] {
	case "log":
		a.Email = &EmailConfig{Sender: "log"}
		return noBlock(d, "email log")
	case "smtp":
	default:
		return d.Errf("email: unknown sender %q (want smtp or log)", args[0])
	}
	cfg := &EmailConfig{Sender: "smtp"}
	line := d.Line()
	err := parseBlock(d, map[string]subParser{
		"address": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "address")
			if err != nil {
				return err
			}
			if err := validateHostPort(v); err != nil {
				return d.Errf("email smtp: address: %w", err)
			}
			cfg.Address = v
			return nil
		},
		"from": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "from")
			if err != nil {
				return err
			}
			if err := validateMailbox(v); err != nil {
				return d.Errf("email smtp: from: %w", err)
			}
			cfg.From = v
			return nil
		},
		"tls": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "tls")
			if err != nil {
				return err
			}
			if !slices.Contains(smtpTLSModes, v) {
				return d.Errf("email smtp: tls: unknown mode %q (want none, starttls or implicit)", v)
			}
			cfg.TLS = v
			return nil
		},
		"username": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "username")
			if err != nil {
				return err
			}
			cfg.Username = v
			return nil
		},
		"password": func(d *caddyfile.Dispenser) error {
			v, err := oneSecretArg(d, "email smtp: password")
			if err != nil {
				return err
			}
			cfg.Password = v
			return nil
		},
	})
	if err != nil {
		return err
	}
	if cfg.Address == "" || cfg.From == "" {
		return errAtLine(d, line, "email smtp: address and from are required")
	}
	if (cfg.Username == "") != (cfg.Password == "") {
		return errAtLine(d, line, "email smtp: username and password must be given together")
	}
	a.Email = cfg
	return nil
}

func (a *App) parseSMS(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.ArgErr()
	}
	switch args[0] {
	case "log":
		if len(args) != 1 {
			return d.ArgErr()
		}
		a.SMS = &SMSConfig{Sender: "log"}
		return noBlock(d, "sms log")
	case "webhook":
		if len(args) != 2 {
			return d.ArgErr()
		}
		if err := validateHTTPURL(args[1]); err != nil {
			return d.Errf("sms webhook: %w", err)
		}
		a.SMS = &SMSConfig{Sender: "webhook", URL: args[1]}
		return noBlock(d, "sms webhook")
	case "twilio":
		if len(args) != 1 {
			return d.ArgErr()
		}
	default:
		return d.Errf("sms: unknown sender %q (want webhook, twilio or log)", args[0])
	}
	cfg := &SMSConfig{Sender: "twilio"}
	line := d.Line()
	err := parseBlock(d, map[string]subParser{
		"account_sid": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "account_sid")
			if err != nil {
				return err
			}
			cfg.AccountSID = v
			return nil
		},
		"auth_token": func(d *caddyfile.Dispenser) error {
			v, err := oneSecretArg(d, "sms twilio: auth_token")
			if err != nil {
				return err
			}
			cfg.AuthToken = v
			return nil
		},
		"from": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "from")
			if err != nil {
				return err
			}
			if err := validateE164(v); err != nil {
				return d.Errf("sms twilio: from: %w", err)
			}
			cfg.From = v
			return nil
		},
		"base_url": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "base_url")
			if err != nil {
				return err
			}
			if err := validateHTTPURL(v); err != nil {
				return d.Errf("sms twilio: base_url: %w", err)
			}
			cfg.BaseURL = v
			return nil
		},
	})
	if err != nil {
		return err
	}
	if cfg.AccountSID == "" || cfg.AuthToken == "" || cfg.From == "" {
		return errAtLine(d, line, "sms twilio: account_sid, auth_token and from are required")
	}
	a.SMS = cfg
	return nil
}

func (a *App) parsePassword(d *caddyfile.Dispenser) error {
	if err := noArgs(d); err != nil {
		return err
	}
	cfg := new(PasswordConfig)
	err := parseBlock(d, map[string]subParser{
		"min_length": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "min_length")
			if err != nil {
				return err
			}
			n, err := parseIntInRange(v, minPasswordMinLength, maxPasswordMinLength)
			if err != nil {
				return d.Errf("password: min_length: %w", err)
			}
			cfg.MinLength = n
			return nil
		},
		"breach": func(d *caddyfile.Dispenser) error {
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			b := &BreachConfig{Source: args[0]}
			switch args[0] {
			case "common", "off":
				if len(args) != 1 {
					return d.ArgErr()
				}
			case "hibp":
				if len(args) > 2 {
					return d.ArgErr()
				}
				if len(args) == 2 {
					if err := validateHTTPURL(args[1]); err != nil {
						return d.Errf("password: breach hibp: %w", err)
					}
					b.URL = args[1]
				}
			case "file":
				if len(args) != 2 {
					return d.ArgErr()
				}
				if strings.TrimSpace(args[1]) == "" {
					return d.Err("password: breach file: the index path is empty")
				}
				b.Path = args[1]
			default:
				return d.Errf("password: breach: unknown source %q (want hibp, file, common or off)", args[0])
			}
			cfg.Breach = b
			return noBlock(d, "breach")
		},
		"breach_on_sign_in": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "breach_on_sign_in")
			if err != nil {
				return err
			}
			on, err := parseOnOff(v)
			if err != nil {
				return d.Errf("password: breach_on_sign_in: %w", err)
			}
			cfg.BreachOnSignIn = on
			return nil
		},
		"breach_on_error": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "breach_on_error")
			if err != nil {
				return err
			}
			if !slices.Contains(breachOnErrors, v) {
				return d.Errf("password: breach_on_error: unknown policy %q (want refuse or accept)", v)
			}
			cfg.BreachOnError = v
			return nil
		},
	})
	if err != nil {
		return err
	}
	a.Password = cfg
	return nil
}

// UnmarshalCaddyfile sets up the handler from the `authgate` site
// directive. Syntax:
//
//	authgate [<matcher>] {
//		prefix <path>
//		sign_in_url <path or url>
//		after_sign_in_url <path or url>
//		task_url <task key> <path or url>
//		public <path pattern...>
//	}
//
// A bare `authgate` line uses every default. The prefix starts with / and
// has no trailing slash. task_url may be given once per task key; public
// may be given many times and accumulates. A path pattern ending in *
// matches every path that starts with what comes before the *.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume directive name
	if err := noArgs(d); err != nil {
		return err
	}
	return parseBlock(d, map[string]subParser{
		"prefix": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "prefix")
			if err != nil {
				return err
			}
			if err := validatePrefix(v); err != nil {
				return d.Errf("prefix: %w", err)
			}
			h.Prefix = v
			return nil
		},
		"sign_in_url": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "sign_in_url")
			if err != nil {
				return err
			}
			if err := validateRedirectTarget(v); err != nil {
				return d.Errf("sign_in_url: %w", err)
			}
			h.SignInURL = v
			return nil
		},
		"after_sign_in_url": func(d *caddyfile.Dispenser) error {
			v, err := oneArg(d, "after_sign_in_url")
			if err != nil {
				return err
			}
			if err := validateRedirectTarget(v); err != nil {
				return d.Errf("after_sign_in_url: %w", err)
			}
			h.AfterSignInURL = v
			return nil
		},
		"task_url": func(d *caddyfile.Dispenser) error {
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.ArgErr()
			}
			key, target := args[0], args[1]
			if err := validateTaskKey(key); err != nil {
				return d.Errf("task_url: %w", err)
			}
			if _, dup := h.TaskURLs[key]; dup {
				return d.Errf("task_url: task %q given more than once", key)
			}
			if err := validateRedirectTarget(target); err != nil {
				return d.Errf("task_url %s: %w", key, err)
			}
			if h.TaskURLs == nil {
				h.TaskURLs = make(map[string]string)
			}
			h.TaskURLs[key] = target
			return noBlock(d, "task_url")
		},
		"public": func(d *caddyfile.Dispenser) error {
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, p := range args {
				if err := validatePublicPattern(p); err != nil {
					return d.Errf("public: %w", err)
				}
			}
			h.Public = append(h.Public, args...)
			return noBlock(d, "public")
		},
	}, "task_url", "public")
}

// errAtLine returns a parse error located at the given line of the
// dispenser's current file, for checks made after a block is consumed.
func errAtLine(d *caddyfile.Dispenser, line int, msg string) error {
	return fmt.Errorf("%s, at %s:%d", msg, d.File(), line)
}

// hasPlaceholder reports whether v holds a Caddy placeholder such as
// {env.NAME}; such values are checked only once expanded.
func hasPlaceholder(v string) bool {
	i := strings.IndexByte(v, '{')
	return i >= 0 && strings.IndexByte(v[i:], '}') > 1
}

// parsePositiveDuration parses a Caddy duration (Go syntax plus "d" for
// days) that must be greater than zero.
func parsePositiveDuration(v string) (time.Duration, error) {
	dur, err := caddy.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %w", v, err)
	}
	if dur <= 0 {
		return 0, fmt.Errorf("duration %q must be positive", v)
	}
	return dur, nil
}

// parseIntInRange parses a decimal integer in [lo, hi].
func parseIntInRange(v string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", v)
	}
	if n < lo || n > hi {
		return 0, fmt.Errorf("%d is out of range [%d, %d]", n, lo, hi)
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

// validateIssuer checks that v is an absolute http(s) origin such as
// https://app.example.com or http://localhost:8080: no path (not even
// "/"), query, fragment or user info.
func validateIssuer(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q is not an absolute http or https origin", v)
	}
	if u.User != nil || u.Path != "" || u.RawPath != "" || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || strings.Contains(v, "#") {
		return fmt.Errorf("%q must be an origin only, like https://app.example.com (no path, query, fragment or user info)", v)
	}
	return nil
}

// validateHTTPURL checks that v is an absolute http or https URL with a
// host. The value is not echoed: such URLs may carry credentials.
func validateHTTPURL(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("the URL does not parse")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return errors.New("the URL must be absolute with scheme http or https and a host")
	}
	return nil
}

// validateRedisURL checks the scheme and host of a redis storage URL. The
// value is not echoed: it may hold a password.
func validateRedisURL(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("the URL does not parse")
	}
	if !slices.Contains(redisSchemes, u.Scheme) {
		return fmt.Errorf("unsupported URL scheme %q (want %s)", u.Scheme, strings.Join(redisSchemes, ", "))
	}
	if u.Host == "" {
		return errors.New("the URL has no host")
	}
	return nil
}

// validateHostPort checks a host:port address with a numeric port.
func validateHostPort(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || host == "" {
		return fmt.Errorf("%q is not host:port", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has an invalid port", v)
	}
	return nil
}

// validateMailbox checks an RFC 5322 address, optionally with a display
// name: no-reply@example.com or "Example <no-reply@example.com>".
func validateMailbox(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	if _, err := mail.ParseAddress(v); err != nil {
		return fmt.Errorf("%q is not an email address: %w", v, err)
	}
	return nil
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// validateE164 checks a phone number in E.164 form (+ and 7 to 15 digits).
func validateE164(v string) error {
	if hasPlaceholder(v) || e164.MatchString(v) {
		return nil
	}
	return fmt.Errorf("%q is not an E.164 phone number like +15555550100", v)
}

// validatePrefix checks the path prefix of the built-in API and pages: it
// starts with /, has no trailing slash, and holds only plain path segments
// (no empty, "." or ".." segment, no query, fragment, wildcard, backslash
// or placeholder).
func validatePrefix(v string) error {
	if !strings.HasPrefix(v, "/") || v == "/" {
		return fmt.Errorf("%q must start with / and name a path below the root", v)
	}
	if strings.HasSuffix(v, "/") {
		return fmt.Errorf("%q must not end with /", v)
	}
	if strings.ContainsAny(v, "?#*\\{}%") || containsSpaceOrControl(v) {
		return fmt.Errorf("%q must be a plain path (no ?, #, *, \\, {}, %% or spaces)", v)
	}
	for _, seg := range strings.Split(v[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%q has an empty, . or .. path segment", v)
		}
	}
	return nil
}

// validateRedirectTarget checks a configured redirect destination
// (sign_in_url, after_sign_in_url, task URLs): either a path on this site
// that starts with a single / (not // or /\), or an absolute http(s) URL.
func validateRedirectTarget(v string) error {
	if hasPlaceholder(v) {
		return nil
	}
	if containsSpaceOrControl(v) || strings.Contains(v, "\\") {
		return fmt.Errorf("%q holds spaces, control characters or backslashes", v)
	}
	if strings.HasPrefix(v, "/") {
		if strings.HasPrefix(v, "//") {
			return fmt.Errorf("%q is a scheme-relative URL; write a path or an absolute URL", v)
		}
		if _, err := url.Parse(v); err != nil {
			return fmt.Errorf("%q does not parse as a path: %w", v, err)
		}
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("%q must be a path starting with / or an absolute http or https URL", v)
	}
	if u.User != nil {
		return fmt.Errorf("%q must not hold user info", v)
	}
	return nil
}

// validateTaskKey checks a session task key (the grammar is tasks.ValidKey).
func validateTaskKey(v string) error { return tasks.ValidKey(v) }

// validatePublicPattern checks a public path pattern: it starts with /,
// and * may appear only as its last character (a prefix match).
func validatePublicPattern(v string) error {
	if !strings.HasPrefix(v, "/") {
		return fmt.Errorf("%q must start with /", v)
	}
	if i := strings.IndexByte(v, '*'); i >= 0 && i != len(v)-1 {
		return fmt.Errorf("%q may hold * only at its end", v)
	}
	if strings.ContainsAny(v, "?#\\") || containsSpaceOrControl(v) {
		return fmt.Errorf("%q must be a plain path (no ?, #, \\ or spaces)", v)
	}
	return nil
}

// containsSpaceOrControl reports whether v holds a space or a control
// character.
func containsSpaceOrControl(v string) bool {
	for _, r := range v {
		if r <= ' ' || r == 0x7f {
			return true
		}
	}
	return false
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
	_ caddyfile.Unmarshaler = (*Handler)(nil)
)
