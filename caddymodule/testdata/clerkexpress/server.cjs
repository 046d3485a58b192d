// An Express app that uses Clerk's own backend SDK (@clerk/express's
// clerkMiddleware, which runs @clerk/backend's authenticateRequest) behind
// authgate: caddymodule/clerk_express_test.go starts it with the gate's
// public key and a publishable key naming the gate's issuer, and reads
// what getAuth says on every request.
//
// CommonJS, so that NODE_PATH finds the packages `npm ci` installed
// outside this folder (make -f xcaddy.mk test: .cache/clerkexpress).
'use strict';

const express = require('express');
const { clerkMiddleware, getAuth } = require('@clerk/express');

const { PORT, CLERK_JWT_KEY, CLERK_PUBLISHABLE_KEY, CLERK_PROXY_URL, AUTHORIZED_PARTY } = process.env;

const app = express();
app.use(
  clerkMiddleware({
    jwtKey: CLERK_JWT_KEY,
    publishableKey: CLERK_PUBLISHABLE_KEY,
    // Never used: with jwtKey the SDK verifies tokens itself and calls no
    // Clerk API; authenticateRequest only insists that one is set.
    secretKey: 'sk_live_placeholder_never_sent_anywhere',
    authorizedParties: [AUTHORIZED_PARTY],
    // The gate's prefix: the SDK's handshake goes there (authgate answers
    // it), not to <issuer>/v1/client/handshake, a path of this app.
    proxyUrl: CLERK_PROXY_URL,
  }),
);

app.use((req, res) => {
  const auth = getAuth(req); // Clerk's default: a pending session reads as signed out
  const withPending = getAuth(req, { treatPendingAsSignedOut: false });
  res.set('Cache-Control', 'no-store');
  // text/plain, not application/json: Chromium shows it as is, with no
  // JSON viewer rewriting the page under the test that reads it.
  res.type('text/plain').send(JSON.stringify({
    path: req.path,
    userId: auth.userId,
    sessionId: auth.sessionId,
    isAuthenticated: auth.isAuthenticated,
    pending: { userId: withPending.userId, sessionStatus: withPending.sessionStatus || null },
    // What authenticateRequest decided, from the debug headers it sets.
    status: res.getHeader('x-clerk-auth-status') || null,
    reason: res.getHeader('x-clerk-auth-reason') || null,
  }));
});

const server = app.listen(Number(PORT), '127.0.0.1', () => {
  process.stdout.write('listening ' + server.address().port + '\n');
});
