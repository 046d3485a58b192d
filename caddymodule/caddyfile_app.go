package caddymodule

import (
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("authgate", parseGlobalOption)
}

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
//		templates <dir>
//		app_name <name>
//		encryption_key <key> [<previous_key>...]
//		mfa {
//			totp on|off
//			backup_codes on|off
//			phone_code on|off
//			required on|off
//			issuer <name>
//		}
//		sign_up {
//			identifiers email|phone...
//			username off|optional|required
//			phone_countries <ISO 3166-1 alpha-2 code>...
//		}
//	}
//
// A bare `authgate` line uses every default. Each subdirective may be
// given once. Values may hold placeholders such as {env.SMTP_PASSWORD};
// they are kept as written and expanded when the app is provisioned, and
// values with placeholders skip the format checks. The checks are the
// app's Validate, run at the end and reported at the line that set the
// value.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // consume option name
	p := appParser{app: a, at: positions{"": d.Token()}}
	if err := noArgs(d); err != nil {
		return err
	}
	err := parseBlock(d, p.at, "", map[string]subParser{
		"storage":           p.parseStorage,
		"issuer":            stringInto(&a.Issuer),
		"signing_alg":       stringInto(&a.SigningAlg),
		"token_lifetime":    durationInto(&a.TokenLifetime),
		"session_lifetime":  durationInto(&a.SessionLifetime),
		"email":             p.parseEmail,
		"sms":               p.parseSMS,
		"password":          p.parsePassword,
		"code_ttl":          durationInto(&a.CodeTTL),
		"code_max_attempts": countInto(&a.CodeMaxAttempts, "code_max_attempts", codeMaxAttempts),
		"enumeration_protection": onOffInto(func(on bool) { a.EnumerationProtection = &on },
			"enumeration_protection"),
		"lockout": p.parseLockout,
		// templates is a folder of message templates that override the
		// embedded ones (file names as in notify/templates).
		"templates": stringInto(&a.Templates),
		// app_name is one word; quote names with spaces.
		"app_name": stringInto(&a.AppName),
		// encryption_key <key> [<previous_key>...]: the first seals.
		"encryption_key": p.parseEncryptionKey,
		// mfa { ... }: the second factors; a bare `mfa` takes the defaults.
		"mfa": p.parseMFA,
		// sign_up { ... }: self-service sign-up; a bare `sign_up` turns
		// it on with the defaults, none leaves it off.
		"sign_up": p.parseSignUp,
	})
	if err != nil {
		return err
	}
	return p.at.locate(a.Validate())
}

// appParser parses the global option's subdirectives into app, noting
// where each field was set.
type appParser struct {
	app *App
	at  positions
}

// blockOf sets *dst to cfg, then reads the block of subdirectives into it
// with the parsers fields gives for it, noting where each is as
// prefix+name. No block leaves cfg as it is.
func blockOf[T any](p appParser, d *caddyfile.Dispenser, dst **T, cfg *T, prefix string, fields func(cfg *T) map[string]subParser) error {
	*dst = cfg
	return parseBlock(d, p.at, prefix, fields(cfg))
}

// optionBlock reads a subdirective of no argument and an optional block
// (password, mfa, sign_up) into a new T at *dst: a bare line is every
// default.
func optionBlock[T any](p appParser, d *caddyfile.Dispenser, dst **T, prefix string, fields func(cfg *T) map[string]subParser) error {
	if err := noArgs(d); err != nil {
		return err
	}
	return blockOf(p, d, dst, new(T), prefix, fields)
}

// parseStorage reads `storage file [<path>]` or `storage redis <url>`.
func (p appParser) parseStorage(d *caddyfile.Dispenser) error {
	args, err := lineArgs(d, "storage")
	if err != nil {
		return err
	}
	if len(args) == 0 || len(args) > 2 {
		return errStorageArgs(d)
	}
	cfg := &StorageConfig{Backend: args[0]}
	switch args[0] {
	case "file":
		if len(args) == 2 {
			cfg.Path = args[1]
		}
	case "redis":
		if len(args) != 2 {
			return errStorageArgs(d)
		}
		cfg.URL = args[1]
	default:
		return d.Errf("storage: %w", storageBackends.check(args[0]))
	}
	p.app.Storage = cfg
	return noBlock(d, "storage")
}

// parseLockout reads `lockout <attempts> <duration>`.
func (p appParser) parseLockout(d *caddyfile.Dispenser) error {
	args, err := lineArgsN(d, "lockout", 2, 2)
	if err != nil {
		return err
	}
	n, err := parseCount(args[0], lockoutAttempts)
	if err != nil {
		return d.Errf("lockout: attempts: %w", err)
	}
	dur, err := parsePositiveDuration(args[1])
	if err != nil {
		return d.Errf("lockout: duration: %w", err)
	}
	p.app.Lockout = &LockoutConfig{Attempts: n, Duration: caddy.Duration(dur)}
	return noBlock(d, "lockout")
}

// parseEmail reads `email log` or the `email smtp` block.
func (p appParser) parseEmail(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	if len(args) != 1 {
		return d.ArgErr()
	}
	switch args[0] {
	case "log":
		p.app.Email = &EmailConfig{Sender: "log"}
		return noBlock(d, "email log")
	case "smtp":
	default:
		return d.Errf("email: %w", emailSenders.check(args[0]))
	}
	return blockOf(p, d, &p.app.Email, &EmailConfig{Sender: "smtp"}, "email.", func(cfg *EmailConfig) map[string]subParser {
		return map[string]subParser{
			"address":  stringInto(&cfg.Address),
			"from":     stringInto(&cfg.From),
			"tls":      stringInto(&cfg.TLS),
			"username": stringInto(&cfg.Username),
			"password": secretInto(&cfg.Password, "email smtp: password"),
		}
	})
}

// parseSMS reads `sms log`, `sms webhook <url>` or the `sms twilio` block.
func (p appParser) parseSMS(d *caddyfile.Dispenser) error {
	args, err := lineArgsN(d, "sms", 1, -1)
	if err != nil {
		return err
	}
	switch args[0] {
	case "log":
		if len(args) != 1 {
			return d.ArgErr()
		}
		p.app.SMS = &SMSConfig{Sender: "log"}
		return noBlock(d, "sms log")
	case "webhook":
		if len(args) != 2 {
			return d.ArgErr()
		}
		p.app.SMS = &SMSConfig{Sender: "webhook", URL: args[1]}
		return noBlock(d, "sms webhook")
	case "twilio":
		if len(args) != 1 {
			return d.ArgErr()
		}
	default:
		return d.Errf("sms: %w", smsSenders.check(args[0]))
	}
	return blockOf(p, d, &p.app.SMS, &SMSConfig{Sender: "twilio"}, "sms.", func(cfg *SMSConfig) map[string]subParser {
		return map[string]subParser{
			"account_sid": stringInto(&cfg.AccountSID),
			"auth_token":  secretInto(&cfg.AuthToken, "sms twilio: auth_token"),
			"from":        stringInto(&cfg.From),
			"base_url":    stringInto(&cfg.BaseURL),
		}
	})
}

// parsePassword reads the `password` block.
func (p appParser) parsePassword(d *caddyfile.Dispenser) error {
	return optionBlock(p, d, &p.app.Password, "password.", func(cfg *PasswordConfig) map[string]subParser {
		return map[string]subParser{
			"min_length": countInto(&cfg.MinLength, "password: min_length", passwordMinLengths),
			"breach":     func(d *caddyfile.Dispenser) error { return parseBreach(d, cfg) },
			"breach_on_sign_in": onOffInto(func(on bool) { cfg.BreachOnSignIn = on },
				"password: breach_on_sign_in"),
			"breach_on_error": stringInto(&cfg.BreachOnError),
		}
	})
}

// parseBreach reads `breach hibp [<url>]`, `breach file <index>` or
// `breach common|off` into cfg.
func parseBreach(d *caddyfile.Dispenser, cfg *PasswordConfig) error {
	args, err := lineArgsN(d, "password: breach", 1, -1)
	if err != nil {
		return err
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
			b.URL = args[1]
		}
	case "file":
		if len(args) != 2 {
			return d.ArgErr()
		}
		b.Path = args[1]
	default:
		return d.Errf("password: breach: %w", breachSources.check(args[0]))
	}
	cfg.Breach = b
	return noBlock(d, "breach")
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*App)(nil)
)

// parseEncryptionKey reads `encryption_key <key> [<previous_key>...]`.
func (p appParser) parseEncryptionKey(d *caddyfile.Dispenser) error {
	args, err := lineArgsN(d, "encryption_key", 1, -1)
	if err != nil {
		return err
	}
	p.app.EncryptionKey = args
	return noBlock(d, "encryption_key")
}

// parseMFA reads the `mfa` block (or a bare `mfa`: every default).
func (p appParser) parseMFA(d *caddyfile.Dispenser) error {
	set := func(dst **bool) func(bool) { return func(on bool) { *dst = &on } }
	return optionBlock(p, d, &p.app.MFA, "mfa.", func(cfg *MFAConfig) map[string]subParser {
		return map[string]subParser{
			"totp":         onOffInto(set(&cfg.TOTP), "mfa: totp"),
			"backup_codes": onOffInto(set(&cfg.BackupCodes), "mfa: backup_codes"),
			"phone_code":   onOffInto(set(&cfg.PhoneCode), "mfa: phone_code"),
			"required":     onOffInto(set(&cfg.Required), "mfa: required"),
			// issuer is one word; quote names with spaces.
			"issuer": stringInto(&cfg.Issuer),
		}
	})
}

// parseSignUp reads the `sign_up` block (or a bare `sign_up`: on, with
// every default).
func (p appParser) parseSignUp(d *caddyfile.Dispenser) error {
	return optionBlock(p, d, &p.app.SignUp, "sign_up.", func(cfg *SignUpConfig) map[string]subParser {
		return map[string]subParser{
			"identifiers": wordsInto(&cfg.Identifiers, "sign_up: identifiers", nil),
			"username":    stringInto(&cfg.Username),
			// Codes are written in any case and kept upper-case (us is US).
			"phone_countries": wordsInto(&cfg.PhoneCountries, "sign_up: phone_countries", strings.ToUpper),
		}
	})
}

// wordsInto returns a parser of one or more words on the line into dst,
// each passed through norm when it is set; label names the line in
// errors.
func wordsInto(dst *[]string, label string, norm func(string) string) subParser {
	return func(d *caddyfile.Dispenser) error {
		args, err := lineArgsN(d, label, 1, -1)
		if err != nil {
			return err
		}
		if norm != nil {
			for i, a := range args {
				args[i] = norm(a)
			}
		}
		*dst = args
		return noBlock(d, label)
	}
}

// errStorageArgs is the storage line's argument-count error. Caddy's own
// ArgErr quotes the last token, which may be a Redis URL with a password:
// such a token is quoted with its user info hidden.
func errStorageArgs(d *caddyfile.Dispenser) error {
	tok := d.Val()
	at := strings.LastIndexByte(tok, '@')
	if at < 0 {
		return d.ArgErr()
	}
	scheme := ""
	if i := strings.Index(tok, "://"); i >= 0 && i < at {
		scheme = tok[:i+3]
	}
	return d.Errf("wrong argument count or unexpected line ending after '%s***%s'", scheme, tok[at:])
}
