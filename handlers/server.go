// Package handlers is authgate's HTTP layer in plain net/http: the gate
// in front of the upstream, the Clerk-shaped JSON API and the built-in
// HTML pages under the prefix, and the admin API. It does not import
// Caddy; caddymodule mounts it.
//
// Files by surface: routes.go registers every route; gate*.go and
// identity_cache.go decide requests outside the prefix; api_*.go are the
// JSON API; page*.go the HTML pages (csrf.go their form protection);
// admin*.go the admin API; errors.go maps every error to its answer.
package handlers

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/signin"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/token"
)

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
	// IdentityHeaders names the identity headers sent upstream for a
	// signed-in request (IdentityUserID, IdentitySessionID,
	// IdentityEmail; see CheckIdentityHeaders). nil sends all three; an
	// empty list sends none. Unknown names are ignored here (the
	// configuration's validation refuses them).
	IdentityHeaders []string
}

// Server serves one site: the gate, the API and the pages.
type Server struct {
	cfg  Config
	d    Deps
	mux  *http.ServeMux
	ids  identityCache
	csrf *csrfKeys
	// signInPath is SignInURL without its query.
	signInPath string
	// prefixDir is Prefix + "/".
	prefixDir string
	// headers are the identity headers sent upstream.
	headers headerSet
}

// New returns a Server.
func New(cfg Config, d Deps) *Server {
	if d.Now == nil {
		d.Now = time.Now
	}
	d.Events, d.Logger = orQuiet(d.Events, d.Logger)
	if cfg.Tasks == nil {
		cfg.Tasks = tasks.NewRouter(cfg.Prefix, nil)
	}
	if cfg.AppName == "" {
		cfg.AppName = "authgate"
	}
	s := &Server{cfg: cfg, d: d, csrf: &csrfKeys{d.CSRFKey}}
	s.signInPath, _, _ = strings.Cut(cfg.SignInURL, "?")
	s.prefixDir = cfg.Prefix + "/"
	s.headers, _ = parseHeaderSet(cfg.IdentityHeaders)
	s.mux = s.routes()
	return s
}

// InPrefix reports whether the request is for the built-in API or pages.
func (s *Server) InPrefix(r *http.Request) bool {
	p := r.URL.Path
	return p == s.cfg.Prefix || strings.HasPrefix(p, s.prefixDir)
}

// ServeBuiltin serves the API and pages under the prefix. Over https
// every answer (JSON as well as pages) carries HSTS.
func (s *Server) ServeBuiltin(w http.ResponseWriter, r *http.Request) {
	StripIdentity(r)
	setHSTS(w, r)
	if err := methodOverride(r); err != nil {
		writeEnvelope(w, err)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// hsts is the Strict-Transport-Security of every answer over https.
const hsts = "max-age=31536000"

// setHSTS sets HSTS on an answer over https (never over plain http,
// where browsers ignore it and it would only mislead).
func setHSTS(w http.ResponseWriter, r *http.Request) {
	if r.TLS != nil {
		w.Header().Set("Strict-Transport-Security", hsts)
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

// issuerIs reports whether iss is the issuer for r, without building
// the origin string (the gate checks it on every request).
func (s *Server) issuerIs(r *http.Request, iss string) bool {
	if s.cfg.Issuer != "" {
		return iss == s.cfg.Issuer
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return len(iss) == len(scheme)+len(r.Host) && strings.HasPrefix(iss, scheme) && iss[len(scheme):] == r.Host
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

// rotateForSession gives client c a new handle after a password change
// of its session sess. With the reset-password task, the change is what
// turns a pending session into one the upstream sees as signed in: like
// a sign-in (where session.Manager.Create rotates), a __client value
// planted before must not come along. Without the task it is a change of
// credentials, after which a new handle costs nothing and leaves an
// old one that leaked worthless. A change made without the session's
// client (a Bearer token alone) has no handle to rotate. The caller
// sends the new cookie through sendRotated.
func (s *Server) rotateForSession(ctx context.Context, c *session.Client, sess *session.Session) error {
	if c == nil || c.ID != sess.ClientID {
		return nil
	}
	_, err := s.d.Sessions.Rotate(ctx, c)
	return err
}

// signInRequest is who a sign-in call comes from.
func signInRequest(r *http.Request, c *session.Client) signin.Request {
	return signin.Request{Client: c, IP: clientIP(r)}
}

// mint issues a session JWT for sess, which must still be signed in
// (active or pending): an ended, revoked or expired session never gets a
// token again (signed_out).
func (s *Server) mint(ctx context.Context, r *http.Request, sess *session.Session) (string, error) {
	jwt, _, err := s.mintAt(ctx, r, sess)
	return jwt, err
}

// mintAt is mint that also returns the token's iat (Unix seconds): the
// __client_uat set with the token must not be later (cookies.go).
func (s *Server) mintAt(ctx context.Context, r *http.Request, sess *session.Session) (string, int64, error) {
	if !sess.SignedIn(s.d.Now()) {
		return "", 0, apierr.SignedOut
	}
	jwt, cl, err := s.d.Tokens.Mint(ctx, token.Claims{
		Issuer: s.issuer(r), Subject: sess.UserID, SessionID: sess.ID, Status: tokenStatus(sess), AuthorizedParty: origin(r),
	})
	return jwt, cl.IssuedAt.Unix(), err
}

// tokenStatus is the sts claim of a session's tokens.
func tokenStatus(sess *session.Session) string {
	if sess.Status == session.StatusPending {
		return token.StatusPending
	}
	return token.StatusActive
}
