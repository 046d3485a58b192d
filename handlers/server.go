// Package handlers is authgate's HTTP layer in plain net/http: the gate
// in front of the upstream, the Clerk-shaped JSON API and the built-in
// HTML pages under the prefix. It does not import Caddy; caddymodule
// mounts it.
package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/internal/secret"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/store"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/token"
	"github.com/authgate/authgate/users"
)

// Cookie names.
const (
	CookieSession = "__session"
	CookieClient  = "__client"
)

// Identity headers set for the upstream (and stripped from every
// incoming request first).
const (
	HeaderUserID    = "X-Authgate-User-Id"
	HeaderSessionID = "X-Authgate-Session-Id"
	HeaderEmail     = "X-Authgate-Email"
)

// identityHeaders are removed from incoming requests; the X-Authgate-
// prefix as a whole is reserved for the gateway.
var identityHeaders = []string{HeaderUserID, HeaderSessionID, HeaderEmail}

// Tokens mints and verifies session JWTs.
type Tokens interface {
	Mint(ctx context.Context, c token.Claims) (string, token.Claims, error)
	Verify(ctx context.Context, tok, wantIssuer string) (token.Claims, error)
	JWKS() []byte
}

// Events receives audit events and metrics.
type Events interface {
	Event(ctx context.Context, name string, fields ...zap.Field)
	// Gate counts one gate decision.
	Gate(decision string)
}

// Config is one site's gate configuration.
type Config struct {
	// Prefix of the API and pages, e.g. /__authgate.
	Prefix string
	// SignInURL is where anonymous navigations go.
	SignInURL string
	// AfterSignInURL is the landing page after sign-in.
	AfterSignInURL string
	// Public path patterns (exact, or a prefix when ending in *).
	Public []string
	// Tasks maps task keys to their URLs.
	Tasks *tasks.Router
	// Issuer is the JWT iss; empty means the request's origin.
	Issuer string
	// AppName is shown on pages and in messages.
	AppName string
}

// Deps are the shared services behind every site.
type Deps struct {
	Users    *users.Service
	Sessions *session.Manager
	SignIn   *signin.Service
	Tokens   Tokens
	Store    store.Store
	Events   Events
	Logger   *zap.Logger
	Now      func() time.Time
	// PasswordMinLength is shown in the environment and on pages.
	PasswordMinLength int
}

// Server serves one site: the gate, the API and the pages.
type Server struct {
	cfg   Config
	d     Deps
	mux   *http.ServeMux
	ids   sync.Map // token string -> *cachedIdentity
	idsN  int64
	idsMu sync.Mutex
	csrf  *csrfKeys
	// signInPath is SignInURL without its query.
	signInPath string
}

// New returns a Server.
func New(cfg Config, d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = zap.NewNop()
	}
	if d.Events == nil {
		d.Events = nopEvents{}
	}
	if cfg.Tasks == nil {
		cfg.Tasks = tasks.NewRouter(cfg.Prefix, nil)
	}
	if cfg.AppName == "" {
		cfg.AppName = "authgate"
	}
	s := &Server{cfg: cfg, d: d, csrf: &csrfKeys{secret.New(d.Store, csrfKeyName)}}
	s.signInPath, _, _ = strings.Cut(cfg.SignInURL, "?")
	s.routes()
	return s
}

type nopEvents struct{}

func (nopEvents) Event(context.Context, string, ...zap.Field) {}
func (nopEvents) Gate(string)                                 {}

// InPrefix reports whether the request is for the built-in API or pages.
func (s *Server) InPrefix(r *http.Request) bool {
	p := r.URL.Path
	return p == s.cfg.Prefix || strings.HasPrefix(p, s.cfg.Prefix+"/")
}

// ServeBuiltin serves the API and pages under the prefix.
func (s *Server) ServeBuiltin(w http.ResponseWriter, r *http.Request) {
	StripIdentity(r)
	methodOverride(r)
	s.mux.ServeHTTP(w, r)
}

// StripIdentity removes identity headers a client may have sent.
func StripIdentity(r *http.Request) {
	for k := range r.Header {
		if strings.HasPrefix(http.CanonicalHeaderKey(k), "X-Authgate-") {
			delete(r.Header, k)
		}
	}
	for _, h := range identityHeaders {
		r.Header.Del(h)
	}
}

// origin is scheme://host of the request.
func origin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) issuer(r *http.Request) string {
	if s.cfg.Issuer != "" {
		return s.cfg.Issuer
	}
	return origin(r)
}

// clientIP is the caller's address as Caddy resolved it (trusted proxies
// included); callers put it in the context with WithClientIP.
func clientIP(r *http.Request) string {
	if v, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return v
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

type clientIPKey struct{}

// WithClientIP records the client IP that Caddy resolved.
func WithClientIP(r *http.Request, ip string) *http.Request {
	if ip == "" {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), clientIPKey{}, ip))
}

// unavailable reports whether err means the store is down.
func unavailable(err error) bool { return errors.Is(err, store.ErrUnavailable) }

// writeErr writes err as the Clerk envelope; unexpected errors are logged
// and become 500s, and store outages 503s.
func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var e *apierr.Error
	switch {
	case errors.As(err, &e):
	case unavailable(err):
		s.d.Logger.Error("store unavailable", zap.String("path", r.URL.Path), zap.Error(err))
		e = apierr.ServiceUnavailable.WithRetryAfter(5 * time.Second)
	default:
		s.d.Logger.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
		e = apierr.Internal
	}
	apierr.Write(w, e)
}

func secure(r *http.Request) bool { return r.TLS != nil }

func (s *Server) setSessionCookie(w http.ResponseWriter, r *http.Request, jwt string) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieSession, Value: jwt, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) setClientCookie(w http.ResponseWriter, r *http.Request, tok string) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieClient, Value: tok, Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode,
		MaxAge: int(s.d.Sessions.Lifetime() / time.Second),
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieSession, Value: "", Path: "/", HttpOnly: true, Secure: secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1,
	})
}

// sessionToken reads the JWT from the __session cookie or a Bearer header.
func sessionToken(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return cookieValue(r, CookieSession)
}

// cookieValue finds a cookie without parsing every cookie of the request
// (the gate runs it on every request). Values with characters outside
// the cookie-value set are ignored, as net/http does.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			v = strings.Trim(v, `"`)
			for i := 0; i < len(v); i++ {
				if c := v[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
					return ""
				}
			}
			return v
		}
	}
	return ""
}

func clientToken(r *http.Request) string {
	if c, err := r.Cookie(CookieClient); err == nil {
		return c.Value
	}
	return ""
}

// loadClient finds the caller's client, or nil.
func (s *Server) loadClient(ctx context.Context, r *http.Request) (*session.Client, error) {
	tok := clientToken(r)
	if tok == "" {
		return nil, nil
	}
	c, err := s.d.Sessions.Client(ctx, tok)
	if errors.Is(err, session.ErrNotFound) {
		return nil, nil
	}
	return c, err
}

// ensureClient finds or creates the caller's client (setting __client).
func (s *Server) ensureClient(w http.ResponseWriter, r *http.Request) (*session.Client, error) {
	c, err := s.loadClient(r.Context(), r)
	if err != nil || c != nil {
		return c, err
	}
	// Every new client is a store write: limit them per IP.
	if err := s.d.SignIn.AllowIP(r.Context(), "client", clientIP(r)); err != nil {
		return nil, err
	}
	c, tok, err := s.d.Sessions.NewClient(r.Context())
	if err != nil {
		return nil, err
	}
	s.setClientCookie(w, r, tok)
	return c, nil
}

// errNotSignedIn is returned by mint for a session that is over.
var errNotSignedIn = apierr.SignedOut

// mint issues a session JWT for sess, which must still be signed in
// (active or pending): an ended, revoked or expired session never gets a
// token again.
func (s *Server) mint(ctx context.Context, r *http.Request, sess *session.Session) (string, error) {
	if !sess.SignedIn(s.d.Now()) {
		return "", errNotSignedIn
	}
	status := token.StatusActive
	if sess.Status == session.StatusPending {
		status = token.StatusPending
	}
	jwt, _, err := s.d.Tokens.Mint(ctx, token.Claims{
		Issuer: s.issuer(r), Subject: sess.UserID, SessionID: sess.ID, Status: status, AuthorizedParty: origin(r),
	})
	return jwt, err
}
