package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/authgate/authgate/apierr"
	"github.com/authgate/authgate/session"
	"github.com/authgate/authgate/tasks"
	"github.com/authgate/authgate/token"
	"github.com/authgate/authgate/users"
)

// Identity is who a request comes from. An identity the gate returns
// may be shared with other requests (it is cached with its token):
// treat it as read-only.
type Identity struct {
	UserID    string
	SessionID string
	Status    string // active | pending
	Tasks     []string
	Email     string
	Phone     string
	Username  string

	// ph are the fields as placeholder values, made with the identity.
	ph *Placeholders
	// iat is the issue time (Unix seconds) of the session token the
	// identity comes from, and minted is that token when the gate minted
	// it for this request (a refresh from __client): the upstream gets
	// it, and a __client_uat that goes with it (upstream_cookies.go).
	iat    int64
	minted string
}

// Placeholders are an identity's values as the interface values that a
// placeholder holds (Caddy's Replacer.Set takes an any), boxed once per
// identity, and for a cached token once per token, so that setting them
// on every request allocates nothing. Read-only.
type Placeholders struct {
	UserID, SessionID, Email, Phone, Username any
}

// emptyPlaceholders are the values without an identity: empty strings,
// so that a placeholder never expands to its own name.
var emptyPlaceholders = Placeholders{"", "", "", "", ""}

// Placeholders returns id's placeholder values; for a nil id (a public
// or task-page request) every one is empty.
func (id *Identity) Placeholders() *Placeholders {
	switch {
	case id == nil:
		return &emptyPlaceholders
	case id.ph != nil:
		return id.ph
	}
	return newPlaceholders(id) // an identity the gate did not make
}

func newPlaceholders(id *Identity) *Placeholders {
	return &Placeholders{UserID: id.UserID, SessionID: id.SessionID, Email: id.Email, Phone: id.Phone, Username: id.Username}
}

// withPlaceholders returns id with its placeholder values made; id must
// not be shared yet.
func withPlaceholders(id *Identity) *Identity {
	id.ph = newPlaceholders(id)
	return id
}

// Pending reports whether the session still has tasks to do.
func (id *Identity) Pending() bool { return id.Status == token.StatusPending }

// Verdict is the gate's decision for a request outside the prefix.
type Verdict struct {
	// Identity is set when the request may go on as a signed-in user.
	Identity *Identity
	// Pass is true when the request may go on (with Identity, or public).
	Pass bool
}

// gateStoreBudget bounds all the store work of one gated request
// (issue 9: a hung store must answer 503 fast, not hold every request
// for the client's own timeouts): past it the request fails closed with
// 503 and Retry-After.
const gateStoreBudget = 500 * time.Millisecond

// Gate decides a request outside the prefix. When Pass is false the
// response (redirect, 401, 403 or 503) has been written. A request that
// passes goes upstream without the cookies only authgate reads (the
// __client refresh credential and the CSRF cookie); __session stays, the
// upstream may verify it.
//
// The sign-in cookies the upstream gets say what the gate decided, in
// the pair Clerk's backend SDKs read (__session and __client_uat, see
// forwardSignInCookies): a signed-in or pending caller's token, a
// signed-out caller's "0".
func (s *Server) Gate(w http.ResponseWriter, r *http.Request) Verdict {
	v, id := s.decide(w, r)
	if v.Pass {
		s.forwardSignInCookies(w, r, id)
	}
	return v
}

// decide is the gate's decision (see Gate), with the identity it found
// (also for a pending session on its task page, which passes without
// one; nil when anonymous or the store could not say).
func (s *Server) decide(w http.ResponseWriter, r *http.Request) (Verdict, *Identity) {
	StripIdentity(r)
	public := s.isPublic(r.URL)
	id, err := s.identify(w, r)
	if err != nil {
		if public {
			s.d.Events.Gate("public")
			return Verdict{Pass: true}, nil
		}
		s.d.Events.Gate("unavailable")
		s.writeErr(w, r, err)
		return Verdict{}, nil
	}
	return s.decideFor(w, r, id, public), id
}

// decideFor is decide once the identity is known.
func (s *Server) decideFor(w http.ResponseWriter, r *http.Request, id *Identity, public bool) Verdict {
	switch {
	case id == nil && public:
		s.d.Events.Gate("public")
		return Verdict{Pass: true}
	case id == nil:
		s.d.Events.Gate("unauthenticated")
		if isNavigation(r) {
			http.Redirect(w, r, WithRedirect(s.cfg.SignInURL, r.URL.RequestURI()), http.StatusSeeOther)
			return Verdict{}
		}
		apierr.Write(w, apierr.AuthenticationInvalid)
		return Verdict{}
	case id.Pending():
		d := s.cfg.Tasks.Decide(tasks.Request{Tasks: id.Tasks, Path: r.URL.Path, Original: r.URL.RequestURI(), Navigation: isNavigation(r), Public: public})
		switch {
		case d.Outcome == tasks.Pass && public:
			s.d.Events.Gate("public")
			return Verdict{Pass: true}
		case d.Outcome == tasks.Pass:
			s.d.Events.Gate("pending_task_page")
			return Verdict{Pass: true} // no identity: the upstream never sees a pending user as signed in
		case d.Outcome == tasks.Redirect:
			s.d.Events.Gate("pending_redirect")
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, d.Location, http.StatusSeeOther)
		default:
			s.d.Events.Gate("pending_forbidden")
			apierr.Write(w, apierr.SessionTaskPending.WithMeta("tasks", d.Tasks).WithMeta("redirect_url", d.Location))
		}
		return Verdict{}
	}
	s.d.Events.Gate("active")
	s.headers.set(r.Header, id)
	return Verdict{Identity: id, Pass: true}
}

// isNavigation reports a browser page load: GET or HEAD accepting HTML.
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if m := r.Header.Get("Sec-Fetch-Mode"); m != "" && m != "navigate" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// isPublic reports whether the request path is public. Public patterns
// match the cleaned path, and paths that an upstream might read
// differently from us are never public: dot segments, doubled slashes,
// encoded slashes or backslashes, path parameters (";": servers that
// drop them read "/assets/..;/x" as "/x") and anything still encoded
// after one decoding ("%252e" is "%2e" to us, ".." to an upstream that
// decodes again).
func (s *Server) isPublic(u *url.URL) bool {
	p := u.Path
	if len(s.cfg.Public) == 0 && !strings.HasPrefix(p, s.signInPath) {
		return false
	}
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, ";%") {
		return false
	}
	// path.Clean returns p itself, without allocating, when p is clean.
	clean := path.Clean(p)
	if clean != p && (len(p) != len(clean)+1 || p[len(clean)] != '/' || !strings.HasPrefix(p, clean)) {
		return false
	}
	if raw := strings.ToLower(u.RawPath); strings.Contains(raw, "%2f") || strings.Contains(raw, "%5c") {
		return false
	}
	// A sign-in page hosted outside the prefix must be reachable, or
	// anonymous visitors would loop.
	if clean == s.signInPath {
		return true
	}
	for _, pat := range s.cfg.Public {
		if strings.HasSuffix(pat, "*") {
			if strings.HasPrefix(clean, strings.TrimSuffix(pat, "*")) {
				return true
			}
			continue
		}
		if clean == pat {
			return true
		}
	}
	return false
}

// identify resolves the caller's identity: a valid session JWT is
// checked locally (and cached until it expires); otherwise a valid
// __client refreshes it from the store and sets a new __session. It
// returns (nil, nil) for anonymous callers and an error only when the
// store cannot answer, within gateStoreBudget.
func (s *Server) identify(w http.ResponseWriter, r *http.Request) (*Identity, error) {
	now := s.d.Now()
	tok, fromCookie := uncheckedSessionToken(r)
	if len(tok) > 8192 {
		tok = ""
	}
	if tok != "" {
		// Only verified tokens are cached: a hit needs no check of the
		// cookie's characters.
		if e := s.ids.get(tok, now); e != nil && s.issuerIs(r, e.issuer) {
			return &e.id, nil
		}
		if fromCookie && !validCookieValue(tok) {
			tok = ""
		}
	}
	if tok == "" && clientToken(r) == "" {
		return nil, nil // nothing to look up: no timer for anonymous requests
	}
	ctx, cancel := context.WithTimeout(r.Context(), gateStoreBudget)
	defer cancel()
	id, err := s.identifyInStore(ctx, w, r, tok, now)
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(r.Context().Err(), context.Canceled) {
		// Cut off by the budget: the store did not answer in time,
		// whatever the cancelled call returned.
		err = apierr.TimedOut(err)
	}
	return id, err
}

// identifyInStore is identify past the cache: tok (when set) is verified
// and its profile loaded, else the __client cookie is refreshed; every
// store call runs under ctx.
func (s *Server) identifyInStore(ctx context.Context, w http.ResponseWriter, r *http.Request, tok string, now time.Time) (*Identity, error) {
	if tok != "" {
		claims, err := s.d.Tokens.Verify(ctx, tok, s.issuer(r))
		if err == nil {
			id, err := s.identityFromClaims(ctx, claims)
			if err != nil {
				return nil, err
			}
			if id != nil {
				return s.ids.put(tok, id, claims.Issuer, claims.Expiry, now), nil
			}
		} else if !errors.Is(err, token.ErrInvalidToken) {
			return nil, err
		}
	}
	return s.refresh(ctx, w, r)
}

// refresh mints a new session JWT from the __client cookie. When it
// finds the caller signed out (no client, no session left, the user
// gone: a revocation, a sign-out elsewhere), the browser's sign-in
// cookies are cleared, as a sign-out here would (signedOutSeen).
func (s *Server) refresh(ctx context.Context, w http.ResponseWriter, r *http.Request) (*Identity, error) {
	id, err := s.refreshFromClient(ctx, w, r)
	if id == nil && err == nil {
		s.signedOutSeen(w, r)
	}
	return id, err
}

// refreshFromClient is refresh before its signed-out cleanup.
func (s *Server) refreshFromClient(ctx context.Context, w http.ResponseWriter, r *http.Request) (*Identity, error) {
	c, err := s.loadClient(ctx, r)
	if err != nil || c == nil {
		return nil, err
	}
	sess, err := s.d.Sessions.ActiveSession(ctx, c)
	if errors.Is(err, session.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	u, err := s.d.Users.Get(ctx, sess.UserID)
	if errors.Is(err, users.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	jwt, iat, err := s.mintAt(ctx, r, sess)
	if err != nil {
		return nil, err
	}
	s.renewedAt(w, r, jwt, iat)
	if c := s.d.Logger.Check(zap.DebugLevel, "session token refreshed"); c != nil {
		c.Write(zap.String("session_id", sess.ID), zap.String("user_id", sess.UserID))
	}
	id := identityOf(sess, u)
	id.iat, id.minted = iat, jwt
	return id, nil
}

func identityOf(sess *session.Session, u *users.User) *Identity {
	return withPlaceholders(&Identity{
		UserID: u.ID, SessionID: sess.ID, Status: tokenStatus(sess), Tasks: sess.Tasks,
		Email: u.PrimaryEmail(), Phone: u.PrimaryPhone(), Username: u.Username,
	})
}

// identityFromClaims loads the profile behind verified claims (once per
// token: the result is cached until the token expires).
func (s *Server) identityFromClaims(ctx context.Context, cl token.Claims) (*Identity, error) {
	u, err := s.d.Users.Get(ctx, cl.Subject)
	if errors.Is(err, users.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	id := &Identity{
		UserID: u.ID, SessionID: cl.SessionID, Status: cl.Status,
		Email: u.PrimaryEmail(), Phone: u.PrimaryPhone(), Username: u.Username,
		iat: cl.IssuedAt.Unix(),
	}
	if id.Pending() {
		sess, err := s.d.Sessions.Get(ctx, cl.SessionID)
		if errors.Is(err, session.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !sess.SignedIn(s.d.Now()) {
			return nil, nil
		}
		if sess.Status == session.StatusActive {
			// The task was done after this token was minted.
			return nil, nil
		}
		id.Tasks = sess.Tasks
	}
	return id, nil
}
