// Onramp against an independent OpenID Connect relying-party library.
//
// panva's openid-client (v6, on oauth4webapi) plays the relying party: it
// discovers the provider, builds the authorization request, and checks every
// answer as strictly as it does for any certified provider (ID token
// signature from the JWKS, iss, aud, nonce, exp/iat, the RFC 9207 `iss`
// authorization response parameter, state, PKCE, response shapes).
//
// Starts the onramp binary (ONRAMP_BIN, default ../../target/debug/onramp)
// with a throwaway config and embedded store, a tiny HTTP server at the
// client's redirect and post-logout redirect URIs that records what arrives,
// and Debian's headless Chromium (CHROMIUM, default /usr/bin/chromium) driven
// by playwright-core, with a CDP virtual authenticator for the passkey: the
// harness the browser tests share (../browser/harness.mjs).
//
//   1. Discovery; authorization request with PKCE S256, state, nonce and
//      offline_access; a new user signs in with a Temporary Access Pass and
//      creates a passkey; code grant (amr ["otp","mfa"]); UserInfo; refresh
//      with rotation (the old refresh token is refused); revocation and
//      introspection of the access token; RP-initiated logout back to the
//      registered post-logout URI with the state, after which the
//      authorization request asks the person to sign in again.
//   2. With cookies cleared, the same user signs in with the passkey alone
//      ("Sign in with a passkey"), client_secret_basic this time; amr[0] is
//      hwk or swk; the refresh token is revoked and then refused.
//
// Run with tests/rp-node/run.sh (or `node --test rp.test.mjs` here).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as client from 'openid-client';
import { chromium } from 'playwright-core';
import {
  Onramp, PageLog, STEP_TIMEOUT_MS, TEST_TIMEOUT_MS, addVirtualAuthenticator, assertSetup, freePort,
  launchChromium, newContext, recordWebAuthnGets, sleep, stepper,
} from '../browser/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCREENSHOTS = path.join(HERE, 'screenshots'); // failure screenshots only

const ADMIN = { id: 'hr-sync', secret: 'hr-sync-secret-0123456789' };
const RP = { id: 'node-rp', secret: 'node-rp-secret-0123456789abcdef' };
const SCOPE = 'openid profile email offline_access';

// ---------------------------------------------------------------- helpers

/** Everything openid-client says about an error: class, code, OAuth error, status, cause. */
function describeOidcError(e) {
  const parts = [`${e?.name ?? 'Error'}${e?.code ? ` [${e.code}]` : ''}: ${e?.message ?? e}`];
  if (e?.error) parts.push(`error=${e.error}`);
  if (e?.error_description) parts.push(`error_description=${e.error_description}`);
  if (e?.status) parts.push(`HTTP ${e.status}`);
  if (e?.cause !== undefined) {
    let cause;
    if (e.cause instanceof URLSearchParams) cause = e.cause.toString();
    else if (e.cause instanceof Error) cause = `${e.cause.name}: ${e.cause.message}`;
    else {
      try { cause = JSON.stringify(e.cause); } catch { cause = String(e.cause); }
    }
    parts.push(`cause=${cause}`);
  }
  return parts.join('; ');
}

// ---------------------------------------------------------------- fixtures

/** The relying party's web server: records every request to its redirect URIs. */
class RelyingPartyServer {
  constructor() {
    this.hits = [];
    this.waiters = [];
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url, `http://localhost:${this.port}`);
      if (url.pathname !== '/favicon.ico') {
        this.hits.push(url);
        for (const w of this.waiters.splice(0)) w(url);
      }
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('ok');
    });
  }

  async start() {
    await new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.port = this.server.address().port;
    this.redirectUri = `http://localhost:${this.port}/callback`;
    this.postLogoutRedirectUri = `http://localhost:${this.port}/signed-out`;
  }

  /** Resolves with the URL (a URL object) of the next request to `pathname`. */
  next(pathname, timeoutMs = STEP_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`the relying party received no request to ${pathname} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (url) => {
        if (url.pathname !== pathname) {
          this.waiters.push(done); // not this one: keep waiting
          return;
        }
        clearTimeout(timer);
        resolve(url);
      };
      this.waiters.push(done);
    });
  }

  stop() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The onramp server under test (../browser/harness.mjs), with the admin client and the relying party. */
class Server extends Onramp {
  constructor({ port, dir, rp }) {
    super({
      port,
      dir,
      extraConfig: `
[[clients]]
id = "${ADMIN.id}"
secret = "${ADMIN.secret}"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"]

[[clients]]
id = "${RP.id}"
name = "Node RP"
secret = "${RP.secret}"
grant_types = ["authorization_code", "refresh_token"]
redirect_uris = ["${rp.redirectUri}"]
post_logout_redirect_uris = ["${rp.postLogoutRedirectUri}"]
`,
    });
  }

}

// ---------------------------------------------------------------- the tests

describe('onramp with openid-client as the relying party', { timeout: 4 * TEST_TIMEOUT_MS }, () => {
  let tmp;
  let rp;
  let onramp;
  let unguard; // undoes onramp.killOnExit()
  let issuer;
  let browser;
  let context;
  let page;
  let cdp;
  let authenticatorId;
  const log = new PageLog(); // console messages, page errors, 4xx/5xx answers but for /favicon.ico
  const webauthnGets = []; // the pages' navigator.credentials.get() calls
  const user = {
    upn: 'rp.newhire@example.com',
    displayName: 'RP New Hire',
    mail: 'rp.newhire@example.com',
  };
  let enrolled = false;
  let passed = 0;
  const TESTS = 2;

  before(async () => {
    assertSetup({ screenshots: SCREENSHOTS });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-rp-node-'));
    rp = new RelyingPartyServer();
    await rp.start();
    onramp = new Server({ port: await freePort(), dir: tmp, rp });
    issuer = onramp.base;
    unguard = onramp.killOnExit();
    await onramp.start();

    browser = await launchChromium(chromium);
    context = await newContext(browser);
    await recordWebAuthnGets(context, webauthnGets);
    page = await context.newPage();
    log.watchPage(page);
    ({ cdp, authenticatorId } = await addVirtualAuthenticator(context, page));
  }, { timeout: TEST_TIMEOUT_MS });

  after(async () => {
    const problems = [];
    const attempt = async (what, fn) => {
      try { await fn(); } catch (e) { problems.push(`${what}: ${e.message}`); }
    };
    const showLogs = passed < TESTS;
    if (showLogs && log.lines.length) console.log(`browser log:\n  ${log}`);
    await attempt('close browser', async () => { await browser?.close(); });
    await attempt('stop onramp', async () => { await onramp?.stop(); });
    await attempt('stop relying party', async () => { await rp?.stop(); });
    unguard?.();
    if (showLogs && onramp?.output.trim()) console.log(`onramp output:\n${onramp.output.trim()}`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (problems.length) console.log(`cleanup problems:\n  ${problems.join('\n  ')}`);
  }, { timeout: TEST_TIMEOUT_MS });

  /** A browser step: on failure, what the page showed, a screenshot, the logs. */
  const step = stepper({
    pages: () => ({ '': page }),
    logs: () => [log],
    onramp: () => onramp,
    screenshots: SCREENSHOTS,
  });

  /** An openid-client call: on failure, the library's exact complaint and the server's output. */
  async function oidc(what, fn) {
    try {
      return await fn();
    } catch (e) {
      const err = new Error(`openid-client ${what} failed: ${describeOidcError(e)}` +
        `\nonramp output:\n${onramp?.output.trim() || '(empty)'}`, { cause: e });
      throw err;
    }
  }

  /** Asserts that `promise` (an openid-client call) fails with OAuth error `code`. */
  async function expectOAuthError(promise, { error, status }, what) {
    let e;
    try {
      await promise;
    } catch (caught) {
      e = caught;
    }
    assert.ok(e, `${what}: expected an error, but the call succeeded`);
    assert.ok(e instanceof client.ResponseBodyError,
      `${what}: expected a ResponseBodyError (${error}), got ${describeOidcError(e)}`);
    assert.equal(e.error, error, `${what}: ${describeOidcError(e)}`);
    if (status) assert.equal(e.status, status, `${what}: ${describeOidcError(e)}`);
    return e;
  }

  function discover(clientAuthentication) {
    return oidc('discovery', () => client.discovery(
      new URL(issuer), RP.id, RP.secret, clientAuthentication,
      { execute: [client.allowInsecureRequests], timeout: STEP_TIMEOUT_MS / 1000 },
    ));
  }

  /** A fresh authorization request: its URL and the checks for its answer. */
  async function authorizationRequest(config, extra = {}) {
    const pkceCodeVerifier = client.randomPKCECodeVerifier();
    const codeChallenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier);
    const expectedState = client.randomState();
    const expectedNonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: rp.redirectUri,
      scope: SCOPE,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      state: expectedState,
      nonce: expectedNonce,
      ...extra,
    });
    const callback = rp.next('/callback', TEST_TIMEOUT_MS - 10_000);
    callback.catch(() => {}); // awaited by the caller
    return { url, callback, checks: { pkceCodeVerifier, expectedState, expectedNonce } };
  }

  async function awaitCallback(callback) {
    return step('redirect to the relying party', async () => {
      const url = await callback;
      await page.waitForURL((u) => u.port === String(rp.port) && u.pathname === '/callback');
      return url;
    });
  }

  function checkIdTokenClaims(claims, { nonce }) {
    assert.ok(claims, 'the token response has no ID token');
    assert.equal(claims.iss, issuer);
    assert.equal(claims.sub, user.id);
    assert.deepEqual([claims.aud].flat(), [RP.id]);
    assert.equal(claims.nonce, nonce);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(claims.exp > now, `exp ${claims.exp} is not in the future`);
    assert.ok(Math.abs(claims.iat - now) < 300, `iat ${claims.iat} is far from now (${now})`);
    assert.ok(Array.isArray(claims.amr), `amr is not an array: ${JSON.stringify(claims.amr)}`);
  }

  it('TAP sign-in, passkey enrollment, code, UserInfo, refresh rotation, revocation, introspection, logout',
    { timeout: TEST_TIMEOUT_MS }, async () => {
      // The HR system's part: a user and a Temporary Access Pass.
      const admin = await onramp.adminToken(ADMIN);
      const created = await onramp.createUser(admin, {
        userPrincipalName: user.upn,
        displayName: user.displayName,
        mail: user.mail,
      });
      user.id = created.id;
      const tap = await onramp.createTap(admin, user.id);

      // 1. Discovery (client_secret_post: openid-client's default with a secret).
      const config = await discover(undefined);
      const meta = config.serverMetadata();
      assert.equal(meta.issuer, issuer);
      assert.ok(meta.supportsPKCE('S256'), 'discovery does not advertise PKCE S256');
      for (const k of ['authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri',
        'revocation_endpoint', 'introspection_endpoint', 'end_session_endpoint']) {
        assert.equal(typeof meta[k], 'string', `discovery lacks ${k}`);
      }

      // 2. The authorization request, and the person's sign-in in the browser.
      const { url, callback, checks } = await authorizationRequest(config);
      assert.equal(url.searchParams.get('client_id'), RP.id);
      await step('sign-in page', async () => {
        await page.goto(url.href);
        await page.waitForURL((u) => u.pathname === '/authorize'); // the sign-in page, answered at once
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        await page.getByLabel('User name').fill(user.upn);
        await page.getByRole('button', { name: 'Next' }).click();
      });
      await step('TAP page', async () => {
        await page.getByRole('heading', { name: 'Enter your Temporary Access Pass' }).waitFor();
        await page.getByLabel('Temporary Access Pass').fill(tap);
        await page.getByRole('button', { name: 'Sign in' }).click();
      });
      await step('enrollment page', async () => {
        await page.waitForURL((u) => u.pathname === '/enroll');
        await page.getByRole('heading', { name: 'Set up your passkey' }).waitFor();
        await page.getByRole('button', { name: 'Create passkey' }).click();
        await page.getByRole('heading', { name: "You're all set" }).waitFor();
        await page.getByRole('link', { name: /^Continue to / }).click();
      });
      const callbackUrl = await awaitCallback(callback);
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1, `expected one passkey, got ${JSON.stringify(credentials)}`);
      enrolled = true;

      // 3. The code grant; openid-client checks iss/state on the callback and
      //    the ID token's signature, iss, aud, nonce, exp and iat.
      const tokens = await oidc('authorizationCodeGrant',
        () => client.authorizationCodeGrant(config, callbackUrl, checks));
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(typeof tokens.access_token, 'string');
      assert.equal(typeof tokens.refresh_token, 'string', 'offline_access gave no refresh token');
      assert.ok(tokens.expiresIn() > 0, `expires_in ${tokens.expires_in}`);
      const claims = tokens.claims();
      checkIdTokenClaims(claims, { nonce: checks.expectedNonce });
      assert.deepEqual(claims.amr, ['otp', 'mfa']);
      assert.equal(typeof claims.auth_time, 'number', `no auth_time: ${JSON.stringify(claims)}`);
      assert.equal(typeof claims.sid, 'string', `no sid: ${JSON.stringify(claims)}`);

      // 4. UserInfo, bound to the ID token's subject.
      const info = await oidc('fetchUserInfo', () => client.fetchUserInfo(config, tokens.access_token, claims.sub));
      assert.equal(info.sub, user.id);
      assert.equal(info.name, user.displayName);
      assert.equal(info.preferred_username, user.upn);
      assert.equal(info.email, user.mail);
      assert.equal(info.email_verified, true);

      // 5. Refresh: a new pair; the old refresh token is then refused.
      const refreshed = await oidc('refreshTokenGrant', () => client.refreshTokenGrant(config, tokens.refresh_token));
      assert.equal(typeof refreshed.access_token, 'string');
      assert.equal(typeof refreshed.refresh_token, 'string', 'the refresh gave no new refresh token');
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token did not rotate');
      assert.notEqual(refreshed.access_token, tokens.access_token);
      const active = await oidc('tokenIntrospection (fresh access token)',
        () => client.tokenIntrospection(config, refreshed.access_token));
      assert.equal(active.active, true, `a fresh access token is inactive: ${JSON.stringify(active)}`);
      assert.equal(active.sub, user.id);
      assert.equal(active.client_id, RP.id);
      await expectOAuthError(client.refreshTokenGrant(config, tokens.refresh_token),
        { error: 'invalid_grant', status: 400 }, 'refresh with the rotated-out refresh token');

      // 6. Revocation (RFC 7009) of the access token, then introspection (RFC 7662).
      await oidc('tokenRevocation', () => client.tokenRevocation(config, refreshed.access_token,
        { token_type_hint: 'access_token' }));
      const revoked = await oidc('tokenIntrospection (revoked access token)',
        () => client.tokenIntrospection(config, refreshed.access_token));
      assert.equal(revoked.active, false, `a revoked access token is active: ${JSON.stringify(revoked)}`);
      let e;
      try {
        await client.fetchUserInfo(config, refreshed.access_token, claims.sub);
      } catch (caught) { e = caught; }
      assert.ok(e instanceof client.WWWAuthenticateChallengeError,
        `UserInfo with a revoked access token: expected a WWW-Authenticate challenge, got ${e ? describeOidcError(e) : 'success'}`);
      assert.equal(e.status, 401);
      assert.equal(e.cause[0]?.parameters?.error, 'invalid_token', describeOidcError(e));

      // While the session lasts, prompt=none answers with a code at once (single sign-on).
      const silent = await authorizationRequest(config, { prompt: 'none' });
      await step('prompt=none with a session', () => page.goto(silent.url.href));
      const silentUrl = await awaitCallback(silent.callback);
      const silentTokens = await oidc('authorizationCodeGrant (prompt=none)',
        () => client.authorizationCodeGrant(config, silentUrl, silent.checks));
      const silentClaims = silentTokens.claims();
      checkIdTokenClaims(silentClaims, { nonce: silent.checks.expectedNonce });
      assert.equal(silentClaims.auth_time, claims.auth_time, 'single sign-on should keep auth_time');
      assert.equal(silentClaims.sid, claims.sid, 'single sign-on should keep the session id');

      // 7. RP-initiated logout back to the registered URI with the state.
      const logoutState = client.randomState();
      const endSession = client.buildEndSessionUrl(config, {
        id_token_hint: tokens.id_token,
        post_logout_redirect_uri: rp.postLogoutRedirectUri,
        state: logoutState,
      });
      assert.equal(endSession.origin + endSession.pathname, meta.end_session_endpoint);
      const signedOut = rp.next('/signed-out');
      signedOut.catch(() => {});
      const back = await step('RP-initiated logout', async () => {
        await page.goto(endSession.href);
        const u = await signedOut;
        await page.waitForURL((p) => p.port === String(rp.port) && p.pathname === '/signed-out');
        return u;
      });
      assert.equal(back.origin + back.pathname, rp.postLogoutRedirectUri);
      assert.deepEqual(Object.fromEntries(back.searchParams), { state: logoutState });

      // The session is over: prompt=none now answers login_required ...
      const none = await authorizationRequest(config, { prompt: 'none' });
      await step('prompt=none after logout', () => page.goto(none.url.href));
      const noneUrl = await awaitCallback(none.callback);
      let refused;
      try {
        await client.authorizationCodeGrant(config, noneUrl, none.checks);
      } catch (caught) { refused = caught; }
      assert.ok(refused instanceof client.AuthorizationResponseError,
        `prompt=none after logout: expected an error response, got ${refused ? describeOidcError(refused) : 'tokens'}`);
      assert.equal(refused.error, 'login_required', describeOidcError(refused));

      // ... and the next authorization request asks for a sign-in.
      // The authenticator's "touch" is held back meanwhile: Chromium would
      // otherwise hand the sign-in page's autofill (conditional) request to
      // the virtual authenticator at once, and the passkey would sign in.
      const again = await authorizationRequest(config);
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
      try {
        await step('sign-in page after logout', async () => {
          await page.goto(again.url.href);
          await page.waitForURL((u) => u.pathname === '/authorize'); // the sign-in page, answered at once
          await page.getByRole('heading', { name: 'Sign in' }).waitFor();
          await page.getByLabel('User name').waitFor();
          await sleep(500);
          assert.equal(new URL(page.url()).pathname, '/authorize', 'the sign-in page did not stay');
          await page.goto('about:blank');
        });
      } finally {
        await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      }
      const late = rp.hits.filter((u) => u.searchParams.get('state') === again.checks.expectedState);
      assert.deepEqual(late.map(String), [], 'a callback came without a sign-in after logout');
      assert.equal(log.pageErrors.length, 0, `JavaScript errors on the page:\n${log.pageErrors.join('\n')}`);
      assert.deepEqual(log.httpErrors, [], 'the browser got error answers');
      onramp.assertRunning();
      passed += 1;
    });

  /** Waits until `pred` over the page's WebAuthn get() calls holds. */
  async function waitForGets(pred, what) {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    while (!pred(webauthnGets)) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; get() calls: ${JSON.stringify(webauthnGets)}`);
      }
      await sleep(50);
    }
  }

  it('passkey-only sign-in with "Sign in with a passkey" (client_secret_basic)', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(enrolled, 'needs the passkey enrolled by the first test, which failed');
    const config = await discover(client.ClientSecretBasic(RP.secret));
    await context.clearCookies();
    const { url, callback, checks } = await authorizationRequest(config);

    // Chromium hands a conditional (autofill) request straight to a virtual
    // authenticator, which would sign in before the button is clicked. Hold
    // the authenticator's "touch" back until the page asks for the button's
    // options (the autofill request answers the ceremony the page came
    // with, so the button's is the only options request), so the
    // conditional request stays pending, the button has to abort it, and
    // the modal request it starts is the one that signs in.
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
    let optionsRequests = 0;
    let conditionalMediation = false;
    const releaseTouch = async (route) => {
      optionsRequests += 1;
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      await route.continue();
    };
    await page.route('**/signin/passkey/options', releaseTouch);
    webauthnGets.length = 0;
    let callbackUrl;
    try {
      await step('passkey sign-in with the button', async () => {
        await page.goto(url.href);
        await page.waitForURL((u) => u.pathname === '/authorize'); // the sign-in page, answered at once
        await page.getByRole('heading', { name: 'Sign in' }).waitFor();
        conditionalMediation = await page.evaluate(
          async () => (await window.PublicKeyCredential?.isConditionalMediationAvailable?.()) ?? false);
        if (conditionalMediation) {
          await waitForGets((gets) => gets.some((c) => c.mediation === 'conditional' && c.state === 'pending'),
            "the sign-in page's background conditional request");
        }
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
      });
      callbackUrl = await awaitCallback(callback);
      assert.equal(optionsRequests, 1, "only the button asks for options");
      await waitForGets((gets) => gets.every((c) => c.state !== 'pending'), 'every get() call to settle');
      assert.deepEqual(webauthnGets.map((c) => `${c.mediation}: ${c.state}`),
        conditionalMediation
          ? ['conditional: rejected AbortError', 'optional: resolved']
          : ['optional: resolved']);
    } finally {
      await page.unroute('**/signin/passkey/options', releaseTouch);
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
    }

    const tokens = await oidc('authorizationCodeGrant (passkey)',
      () => client.authorizationCodeGrant(config, callbackUrl, checks));
    const claims = tokens.claims();
    checkIdTokenClaims(claims, { nonce: checks.expectedNonce });
    assert.ok(['hwk', 'swk'].includes(claims.amr[0]), `amr[0] should be hwk or swk: ${JSON.stringify(claims.amr)}`);
    assert.ok(!claims.amr.includes('otp'), `a passkey sign-in should not say otp: ${JSON.stringify(claims.amr)}`);

    const info = await oidc('fetchUserInfo (passkey)', () => client.fetchUserInfo(config, tokens.access_token, claims.sub));
    assert.equal(info.sub, user.id);

    // Revoking the refresh token (client_secret_basic) ends it.
    assert.equal(typeof tokens.refresh_token, 'string', 'offline_access gave no refresh token');
    const fresh = await oidc('tokenIntrospection (refresh token)',
      () => client.tokenIntrospection(config, tokens.refresh_token));
    assert.equal(fresh.active, true, `a fresh refresh token is inactive: ${JSON.stringify(fresh)}`);
    await oidc('tokenRevocation (refresh token)', () => client.tokenRevocation(config, tokens.refresh_token,
      { token_type_hint: 'refresh_token' }));
    const gone = await oidc('tokenIntrospection (revoked refresh token)',
      () => client.tokenIntrospection(config, tokens.refresh_token));
    assert.equal(gone.active, false, `a revoked refresh token is active: ${JSON.stringify(gone)}`);
    await expectOAuthError(client.refreshTokenGrant(config, tokens.refresh_token),
      { error: 'invalid_grant', status: 400 }, 'refresh with a revoked refresh token');

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'signing in must not create another credential');
    assert.ok(credentials[0].signCount >= 1, `the passkey was not used: ${JSON.stringify(credentials[0])}`);
    assert.equal(log.pageErrors.length, 0, `JavaScript errors on the page:\n${log.pageErrors.join('\n')}`);
    assert.deepEqual(log.httpErrors, [], 'the browser got error answers');
    onramp.assertRunning();
    passed += 1;
  });
});
