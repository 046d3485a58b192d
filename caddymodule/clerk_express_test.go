package caddymodule

// An upstream that uses Clerk's own backend SDK behind the gate (issue
// 12): an Express app with @clerk/express's clerkMiddleware (which runs
// @clerk/backend's authenticateRequest) verifying authgate's session
// tokens with the gate's public key, signed in through authgate's pages
// in Chromium.

import (
	"bufio"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/chromedp/chromedp"

	"github.com/authgate/authgate/internal/testenv"
)

// clerkExpressApp is the Express app (its package.json and
// package-lock.json pin @clerk/express 2.1.70, @clerk/backend 3.25.0 and
// express 5.3.0).
const clerkExpressApp = "testdata/clerkexpress/server.cjs"

// clerkExpressModules finds the node_modules that `npm ci` installed
// from testdata/clerkexpress/package-lock.json: $CLERK_EXPRESS_MODULES,
// else the copy `make -f xcaddy.mk test` installs under
// .cache/clerkexpress. Missing modules (or node) fail the test, never
// skip it.
func clerkExpressModules(t *testing.T) (node, modules string) {
	t.Helper()
	modules = os.Getenv("CLERK_EXPRESS_MODULES")
	if modules == "" {
		modules = filepath.Join("..", ".cache", "clerkexpress", "node_modules")
	}
	modules, err := filepath.Abs(modules)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(modules, "@clerk", "express", "package.json")); err != nil {
		t.Fatalf("@clerk/express not installed (%v): run `make -f xcaddy.mk test`, which runs `npm ci` for "+
			"caddymodule/testdata/clerkexpress into .cache/clerkexpress and sets CLERK_EXPRESS_MODULES", err)
	}
	node, err = exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): `make -f xcaddy.mk test` installs it (Debian's nodejs, with npm)", err)
	}
	return node, modules
}

// clerkAuth is what the Express app answers: what getAuth says, with
// Clerk's default and with treatPendingAsSignedOut: false.
type clerkAuth struct {
	Path            string  `json:"path"`
	UserID          *string `json:"userId"`
	SessionID       *string `json:"sessionId"`
	IsAuthenticated bool    `json:"isAuthenticated"`
	Pending         struct {
		UserID        *string `json:"userId"`
		SessionStatus *string `json:"sessionStatus"`
	} `json:"pending"`
	// Status and Reason are authenticateRequest's debug headers, which
	// it sets on a signed-out state (signed-out, and why).
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (a clerkAuth) String() string {
	return fmt.Sprintf("userId=%s sessionId=%s isAuthenticated=%v pending={userId=%s sessionStatus=%s} status=%q reason=%q (at %s)",
		str(a.UserID), str(a.SessionID), a.IsAuthenticated, str(a.Pending.UserID), str(a.Pending.SessionStatus), a.Status, a.Reason, a.Path)
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

// clerkPublishableKey is a production publishable key whose Frontend API
// is host: "pk_live_" and the unpadded base64 of host + "$", as Clerk
// builds them (@clerk/shared keys.ts). @clerk/backend takes a token as
// its instance's only when iss, without the scheme, is that host.
func clerkPublishableKey(host string) string {
	return "pk_live_" + base64.RawStdEncoding.EncodeToString([]byte(host+"$"))
}

// jwksPEM is the PEM (SubjectPublicKeyInfo) of the one RSA key of a JWKS,
// the form @clerk/backend's jwtKey takes.
func jwksPEM(t *testing.T, jwks []byte) string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Alg string `json:"alg"`
			N   string `json:"n"`
			E   string `json:"e"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("want a JWKS with one key, got %s (%v)", jwks, err)
	}
	k := set.Keys[0]
	if k.Kty != "RSA" || k.Alg != "RS256" {
		t.Fatalf("want an RS256 key, got %s", jwks)
	}
	n, err1 := base64.RawURLEncoding.DecodeString(k.N)
	e, err2 := base64.RawURLEncoding.DecodeString(k.E)
	if err1 != nil || err2 != nil {
		t.Fatalf("JWK n/e: %v %v", err1, err2)
	}
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())})
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// startClerkGate starts Caddy with the gate (RS256, the default) in
// front of the Express app on appPort; it returns the site's base URL.
func startClerkGate(t *testing.T, appPort int) string {
	t.Helper()
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	port := freeTCPPort(t)
	cf := fmt.Sprintf(`{
	admin %s
	persist_config off
	log {
		level ERROR
	}
	authgate {
		storage file %s
		signing_alg RS256
		email log
		sms log
	}
}

http://127.0.0.1:%d {
	bind 127.0.0.1
	authgate {
		public /healthz /public/*
		task_url reset-password /account/reset
	}
	reverse_proxy 127.0.0.1:%d
}
`, testAdminAddr, filepath.Join(t.TempDir(), "authgate.db"), port, appPort)
	cfgJSON, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatalf("adapt: %v\n%s", err, cf)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	if err := caddy.Load(cfgJSON, true); err != nil {
		t.Fatalf("load caddy config: %v", err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(port)
}

// startClerkExpress runs the Express app on port until the test ends and
// waits until it listens.
func startClerkExpress(t *testing.T, port int, env ...string) {
	t.Helper()
	node, modules := clerkExpressModules(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, clerkExpressApp)
	cmd.Env = append(os.Environ(), append(env, "NODE_PATH="+modules, "PORT="+strconv.Itoa(port), "NODE_ENV=production")...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("express app stderr:\n%s", stderr.String())
		}
	})
	ready := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- line
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case line := <-ready:
		if !strings.HasPrefix(line, "listening ") {
			t.Fatalf("express app did not start: %q\n%s", line, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("express app not listening after 30 s:\n%s", stderr.String())
	}
}

// clerkTab is a Chromium tab on the gated site.
type clerkTab struct {
	t    *testing.T
	ctx  context.Context
	base string
}

func (b *clerkTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// press clicks the button with the text and waits for the page it loads.
func (b *clerkTab) press(text string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.Search(fmt.Sprintf(`//button[normalize-space()=%q]`, text))))
	if err != nil || res == nil {
		b.t.Fatalf("pressing %s: %v (response %v)", text, err, res)
	}
}

// follow clicks the link with the id and waits for the page it loads
// (after its redirects).
func (b *clerkTab) follow(id string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID(id)))
	if err != nil || res == nil {
		b.t.Fatalf("following #%s: %v (response %v)", id, err, res)
	}
}

// signIn opens path, which the gate sends to its sign-in page, and
// signs in there with the password.
func (b *clerkTab) signIn(path, email string) {
	b.t.Helper()
	b.do("opening "+path, chromedp.Navigate(b.base+path))
	if p := b.path(); p != "/__authgate/sign-in" {
		b.t.Fatalf("opening %s: at %s, want the sign-in page", path, p)
	}
	b.do("typing the identifier", chromedp.SendKeys(chromedp.ID("identifier"), email))
	b.do("typing the password", chromedp.SendKeys(chromedp.ID("password"), testPassword))
	b.press("Sign in")
}

func (b *clerkTab) path() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("location: %v", err)
	}
	rest := strings.TrimPrefix(loc, b.base)
	p, _, _ := strings.Cut(rest, "?")
	return p
}

// auth is what the Express app answered on the page the tab shows.
func (b *clerkTab) auth(when string) clerkAuth {
	b.t.Helper()
	text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		b.t.Fatalf("%s: page text: %v", when, err)
	}
	var a clerkAuth
	if err := json.Unmarshal([]byte(text), &a); err != nil {
		b.t.Fatalf("%s: not the Express app's answer (at %s): %q", when, b.path(), text)
	}
	return a
}

// open navigates to path and returns the Express app's answer.
func (b *clerkTab) open(path string) clerkAuth {
	b.t.Helper()
	b.do("opening "+path, chromedp.Navigate(b.base+path))
	return b.auth(path)
}

func TestClerkExpressUpstream(t *testing.T) {
	clerkExpressModules(t) // fail first, before starting anything, when they are missing
	appPort := freeTCPPort(t)
	base := startClerkGate(t, appPort)
	jwks := get(t, plainClient, base+"/__authgate/.well-known/jwks.json")
	if jwks.status != http.StatusOK {
		t.Fatalf("JWKS: %d %s", jwks.status, jwks.body)
	}
	host := strings.TrimPrefix(base, "http://") // the issuer is the site's origin
	startClerkExpress(t, appPort,
		"CLERK_JWT_KEY="+jwksPEM(t, jwks.body),
		"CLERK_PUBLISHABLE_KEY="+clerkPublishableKey(host),
		"CLERK_PROXY_URL=/__authgate",
		"AUTHORIZED_PARTY="+base)
	const email = "express@example.com"
	u := createUser(t, email)

	// Anonymous on a public path: signed out, no handshake.
	r := get(t, plainClient, base+"/public/whoami", "Accept", "text/html")
	var anon clerkAuth
	r.decode(t, &anon)
	if r.status != http.StatusOK || anon.UserID != nil || anon.Status != "signed-out" || anon.Reason != "session-token-and-uat-missing" {
		t.Fatalf("anonymous: %d %s", r.status, r.body)
	}

	ctx := testenv.Browser(t)
	b := &clerkTab{t: t, ctx: ctx, base: base}
	b.signIn("/whoami", email)
	if p := b.path(); p != "/whoami" {
		t.Fatalf("after the sign-in: at %s, want /whoami", p)
	}
	a := b.auth("signed in")
	if str(a.UserID) != u.ID || !strings.HasPrefix(str(a.SessionID), "sess_") || !a.IsAuthenticated ||
		str(a.Pending.SessionStatus) != "active" {
		t.Fatalf("signed in: getAuth says %s, want user %s", a, u.ID)
	}
	// Scripts read __client_uat, as Clerk's; __session and __client stay
	// HttpOnly.
	cookies, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cookies, "__client_uat=") || strings.Contains(cookies, "__session=") || strings.Contains(cookies, "__client=") {
		t.Fatalf("document.cookie = %q", cookies)
	}
	// A public path reads the same.
	if a := b.open("/public/whoami"); str(a.UserID) != u.ID {
		t.Fatalf("public path while signed in: %s", a)
	}
	// A link from another site (another host name: the SDK takes a
	// referrer on the app's host name as its own): the SDK forces a
	// handshake (primary-domain-cross-origin-sync), authgate's handshake
	// sends the browser straight back, and the SDK reads it signed in.
	// The browser sends no __client_uat on a navigation from another site
	// (SameSite=Strict, as Clerk's); the gate gives the upstream one.
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><a id="go" href="%s/whoami?from=elsewhere">to the app</a>`, base)
	}))
	t.Cleanup(elsewhere.Close)
	b.do("opening another site", chromedp.Navigate(strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)))
	b.follow("go")
	if p := b.path(); p != "/whoami" {
		t.Fatalf("link from another site: at %s, want /whoami", p)
	}
	if a := b.auth("link from another site"); str(a.UserID) != u.ID {
		t.Fatalf("link from another site: %s", a)
	}

	// Sign out: signed out upstream, not a handshake.
	b.do("opening the sign-out page", chromedp.Navigate(base+"/__authgate/sign-out"))
	b.press("Sign out")
	if a := b.open("/public/whoami"); a.UserID != nil || a.Status != "signed-out" || a.Reason != "session-token-and-uat-missing" {
		t.Fatalf("after the sign-out: %s", a)
	}

	// A pending session (an admin forced a password reset): Clerk's
	// default reads it as signed out, treatPendingAsSignedOut: false as
	// pending. The upstream sees it on its own task page only.
	if r := adminJSON(t, http.MethodPost, "/users/"+u.ID+"/password/require_reset", nil); r.status != http.StatusOK {
		t.Fatalf("require_reset: %d %s", r.status, r.body)
	}
	p := &clerkTab{t: t, ctx: testenv.NewBrowserContext(t, ctx), base: base}
	p.signIn("/whoami", email)
	if got := p.path(); got != "/account/reset" {
		t.Fatalf("pending sign-in: at %s, want the upstream's task page /account/reset", got)
	}
	a = p.auth("pending")
	if a.UserID != nil || a.IsAuthenticated {
		t.Fatalf("pending, Clerk's default: %s, want signed out", a)
	}
	if str(a.Pending.UserID) != u.ID || str(a.Pending.SessionStatus) != "pending" {
		t.Fatalf("pending, treatPendingAsSignedOut false: %s, want user %s pending", a, u.ID)
	}
}
