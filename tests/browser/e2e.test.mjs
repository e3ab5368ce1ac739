// Real-browser end-to-end test of Onramp's sign-in pages.
//
// Starts the onramp binary (ONRAMP_BIN, default ../../target/debug/onramp)
// with a throwaway config and embedded store, a tiny relying party that
// records the redirect, and Debian's headless Chromium (CHROMIUM, default
// /usr/bin/chromium) driven by playwright-core, with a CDP virtual
// authenticator standing in for the user's platform authenticator.
//
//   1. An administrator creates a user and a Temporary Access Pass; the user
//      signs in with the TAP, creates a passkey, and the RP gets a code whose
//      ID token says amr ["otp","mfa"].
//   2. With cookies cleared, the same user signs in with the passkey alone,
//      through the "Sign in with a passkey" button (which must abort the
//      page's pending autofill request); the ID token says amr
//      [hwk|swk, user, pin, mfa].
//   3. Again, through the autofill (conditional mediation) request alone.
//   4. The enrollment page counts its window down (a moved clock).
//   5. The other pages a person meets: the start page, an error page, a
//      wrong pass and the logout page, each with its first focus.
//
// Every page state is also checked for accessibility (harness.mjs).
//
// Run with tests/browser/run.sh (or `node --test e2e.test.mjs` here).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  Onramp, PageLog, SCREENSHOTS, STEP_TIMEOUT_MS, TEST_TIMEOUT_MS, addVirtualAuthenticator, assertSetup,
  b64url, basic, expectStatus, freePort, launchChromium, newContext, recordWebAuthnGets, request, sleep,
  stepper,
} from './harness.mjs';

const ADMIN = { id: 'hr-sync', secret: 'hr-sync-secret-0123456789' };
const RP = { id: 'demo-rp', secret: 'demo-rp-secret-0123456789' };

// ---------------------------------------------------------------- helpers

function decodeJwt(jwt) {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3, `not a compact JWS: ${jwt}`);
  const [h, p, s] = parts;
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')),
    payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')),
    signingInput: Buffer.from(`${h}.${p}`, 'ascii'),
    signature: Buffer.from(s, 'base64url'),
  };
}

/** Verifies a JWS against a JWKS with node:crypto; returns the decoded token. */
function verifyJwt(jwt, jwks) {
  const tok = decodeJwt(jwt);
  const { alg, kid } = tok.header;
  const candidates = jwks.keys.filter((k) => (kid ? k.kid === kid : true) && (!k.alg || k.alg === alg));
  assert.ok(candidates.length > 0, `no JWKS key for kid=${kid} alg=${alg}: ${JSON.stringify(jwks)}`);
  const key = crypto.createPublicKey({ key: candidates[0], format: 'jwk' });
  let ok;
  switch (alg) {
    case 'RS256':
      ok = crypto.verify('sha256', tok.signingInput, key, tok.signature);
      break;
    case 'PS256':
      ok = crypto.verify('sha256', tok.signingInput,
        { key, padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, tok.signature);
      break;
    case 'ES256':
      ok = crypto.verify('sha256', tok.signingInput, { key, dsaEncoding: 'ieee-p1363' }, tok.signature);
      break;
    case 'EdDSA':
      ok = crypto.verify(null, tok.signingInput, key, tok.signature);
      break;
    default:
      assert.fail(`unexpected JWS alg ${alg}`);
  }
  assert.ok(ok, `signature of the ${alg} token (kid ${kid}) does not verify with the JWKS`);
  return tok;
}

function pkce() {
  const verifier = b64url(crypto.randomBytes(32));
  const challenge = b64url(crypto.createHash('sha256').update(verifier).digest());
  return { verifier, challenge };
}

/** The id of the element that has the focus. */
const focusedId = (page) => page.evaluate(() => document.activeElement?.id ?? null);

/** WCAG relative luminance of an `rgb(r, g, b)` colour. */
function luminance(rgb) {
  const [r, g, b] = rgb.match(/\d+(\.\d+)?/g).slice(0, 3).map((c) => {
    const v = Number(c) / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The focused element has a solid outline of 2 px or more, at 3:1 or more against the card it is on. */
async function assertFocusRing(page, what) {
  const ring = await page.evaluate(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {
      focusVisible: el.matches(':focus-visible'),
      style: style.outlineStyle,
      width: parseFloat(style.outlineWidth),
      colour: style.outlineColor,
      behind: getComputedStyle(el.closest('main')).backgroundColor,
    };
  });
  assert.ok(ring.focusVisible, `${what} does not match :focus-visible`);
  assert.equal(ring.style, 'solid', `${what}: outline style`);
  assert.ok(ring.width >= 2, `${what}: outline ${ring.width} px wide`);
  assert.ok(!ring.colour.startsWith('rgba'), `${what}: outline colour ${ring.colour} is see-through`);
  const [hi, lo] = [luminance(ring.colour), luminance(ring.behind)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  assert.ok(ratio >= 3, `${what}: outline ${ring.colour} on ${ring.behind} is ${ratio.toFixed(2)}:1`);
}

// ---------------------------------------------------------------- fixtures

/** The relying party's redirect target: records each callback's query. */
class RelyingParty {
  constructor() {
    this.callbacks = [];
    this.waiters = [];
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url, `http://localhost:${this.port}`);
      if (url.pathname === '/callback') {
        const query = Object.fromEntries(url.searchParams);
        this.callbacks.push(query);
        for (const w of this.waiters.splice(0)) w(query);
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
  }

  /** Resolves with the next callback received after this call. */
  nextCallback(timeoutMs = STEP_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(new Error(`the relying party received no callback within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (q) => { clearTimeout(timer); resolve(q); };
      this.waiters.push(done);
    });
  }

  stop() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The onramp server under test, with an admin API client and the relying party. */
class Server extends Onramp {
  constructor({ port, dir, redirectUri }) {
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
secret = "${RP.secret}"
grant_types = ["authorization_code", "refresh_token"]
redirect_uris = ["${redirectUri}"]
`,
    });
  }


  // --- relying party's view

  authorizeUrl({ redirectUri, state, nonce, challenge }) {
    const q = new URLSearchParams({
      response_type: 'code',
      client_id: RP.id,
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    });
    return `${this.base}/authorize?${q.toString().replace(/\+/g, '%20')}`;
  }

  async exchangeCode({ code, redirectUri, verifier }) {
    const res = await request(`${this.base}/token`, {
      method: 'POST',
      headers: { authorization: basic(RP), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        code_verifier: verifier,
      }).toString(),
    });
    expectStatus(res, 200, 'POST /token (authorization_code)');
    assert.equal(typeof res.json?.id_token, 'string', `no id_token: ${res.text}`);
    assert.equal(typeof res.json?.access_token, 'string', `no access_token: ${res.text}`);
    return res.json;
  }

  async jwks() {
    const res = await request(`${this.base}/.well-known/jwks.json`);
    expectStatus(res, 200, 'GET /.well-known/jwks.json');
    assert.ok(Array.isArray(res.json?.keys), `not a JWKS: ${res.text}`);
    return res.json;
  }
}

// ---------------------------------------------------------------- the test

describe('onramp in a real browser', { timeout: 4 * TEST_TIMEOUT_MS }, () => {
  let tmp;
  let rp;
  let onramp;
  let unguard; // undoes onramp.killOnExit()
  let browser;
  let context;
  let page;
  let cdp;
  let authenticatorId;
  const log = new PageLog(); // console messages, page errors, CSP violations, failed responses
  const webauthnGets = []; // the pages' navigator.credentials.get() calls: {id, mediation, state}
  const user = {};
  let enrolled = false;
  let passed = 0; // tests that got to their end
  const TESTS = 5;
  let conditionalMediation = false; // whether the browser offers passkeys in autofill

  before(async () => {
    assertSetup();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-e2e-'));
    rp = new RelyingParty();
    await rp.start();
    onramp = new Server({ port: await freePort(), dir: tmp, redirectUri: rp.redirectUri });
    unguard = onramp.killOnExit();
    await onramp.start();

    browser = await launchChromium(chromium);
    context = await newContext(browser);
    await log.watchContext(context);
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
    const showLogs = passed < TESTS; // on failure, the browser's and server's side of the story
    if (showLogs && log.lines.length) console.log(`browser log:\n  ${log}`);
    await attempt('close browser', async () => { await browser?.close(); });
    await attempt('stop onramp', async () => { await onramp?.stop(); });
    await attempt('stop relying party', async () => { await rp?.stop(); });
    unguard?.();
    if (showLogs && onramp?.output.trim()) console.log(`onramp output:\n${onramp.output.trim()}`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (problems.length) console.log(`cleanup problems:\n  ${problems.join('\n  ')}`);
  }, { timeout: TEST_TIMEOUT_MS });

  /** Fails with what the page showed, the browser log and the server output. */
  let page3; // the last test's browser
  const step = stepper({ pages: () => ({ '': page, other: page3 }), logs: () => [log], onramp: () => onramp });

  function checkIdToken(tokens, jwks, { nonce }) {
    const { header, payload } = verifyJwt(tokens.id_token, jwks);
    assert.equal(header.alg, 'RS256');
    assert.equal(payload.iss, onramp.base);
    assert.equal(payload.aud, RP.id);
    assert.equal(payload.nonce, nonce);
    assert.equal(payload.sub, user.id);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(payload.exp > now, `exp ${payload.exp} is not in the future`);
    assert.ok(Math.abs(payload.iat - now) < 300, `iat ${payload.iat} is far from now (${now})`);
    // at_hash: left half of SHA-256 of the access token (OIDC Core 3.1.3.6).
    const digest = crypto.createHash('sha256').update(tokens.access_token, 'ascii').digest();
    assert.equal(payload.at_hash, b64url(digest.subarray(0, 16)));
    return payload;
  }

  it('signs a new hire in with a TAP and enrolls a passkey', { timeout: TEST_TIMEOUT_MS }, async () => {
    // The administrator's part: a user and a Temporary Access Pass.
    const token = await onramp.adminToken(ADMIN);
    const created = await onramp.createUser(token, { userPrincipalName: 'newhire@example.com', displayName: 'New Hire' });
    user.id = created.id;
    user.upn = 'newhire@example.com';
    const tap = await onramp.createTap(token, user.id);

    const state = b64url(crypto.randomBytes(12));
    const nonce = b64url(crypto.randomBytes(12));
    const { verifier, challenge } = pkce();
    const callback = rp.nextCallback(TEST_TIMEOUT_MS - 5_000);
    callback.catch(() => {}); // awaited below

    await step('sign-in page', async () => {
      await page.goto(onramp.authorizeUrl({ redirectUri: rp.redirectUri, state, nonce, challenge }));
      await page.waitForURL((u) => u.pathname === '/authorize'); // the sign-in page, answered at once
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.getByRole('button', { name: 'Sign in with a passkey' }).waitFor();
      await page.screenshot({ path: path.join(SCREENSHOTS, 'signin.png'), fullPage: true });
      // Dark mode follows the system setting (prefers-color-scheme).
      const colours = () => page.evaluate(() => {
        const card = getComputedStyle(document.querySelector('main.card'));
        return { background: card.backgroundColor, text: card.color };
      });
      assert.deepEqual(await colours(), { background: 'rgb(255, 255, 255)', text: 'rgb(27, 31, 36)' });
      await page.emulateMedia({ colorScheme: 'dark' });
      assert.deepEqual(await colours(), { background: 'rgb(30, 35, 42)', text: 'rgb(230, 233, 238)' });
      await page.screenshot({ path: path.join(SCREENSHOTS, 'signin-dark.png'), fullPage: true });
      await page.emulateMedia({ colorScheme: 'light' });
      // The first focus is on the page's main action, the user name field;
      // Tab moves on to "Next" with a visible ring, light and dark.
      assert.equal(await focusedId(page), 'username');
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Next');
      for (const scheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme: scheme });
        await assertFocusRing(page, `the focused button (${scheme})`);
      }
      await page.emulateMedia({ colorScheme: 'light' });
      await page.getByLabel('User name').fill(user.upn);
      await page.getByRole('button', { name: 'Next' }).click();
    });

    await step('TAP page', async () => {
      await page.getByRole('heading', { name: 'Enter your Temporary Access Pass' }).waitFor();
      assert.equal(await focusedId(page), 'passcode', 'the first focus is on the pass field');
      await page.getByLabel('Temporary Access Pass').fill(tap);
      await page.screenshot({ path: path.join(SCREENSHOTS, 'tap.png'), fullPage: true });
      await page.getByRole('button', { name: 'Sign in' }).click();
    });

    await step('enrollment page', async () => {
      await page.waitForURL((u) => u.pathname === '/enroll');
      await page.getByRole('heading', { name: 'Set up your passkey' }).waitFor();
      assert.equal(await focusedId(page), 'enroll-start', 'the first focus is on "Create passkey"');
      await page.screenshot({ path: path.join(SCREENSHOTS, 'enroll.png'), fullPage: true });
      await page.getByRole('button', { name: 'Create passkey' }).click();
    });

    await step('all set', async () => {
      await page.getByRole('heading', { name: "You're all set" }).waitFor();
      await page.getByRole('link', { name: /^Continue to / }).click();
    });

    const query = await step('redirect to the relying party', async () => {
      const q = await callback;
      await page.waitForURL((u) => u.port === String(rp.port) && u.pathname === '/callback');
      return q;
    });
    assert.equal(query.error, undefined, `authorization error: ${JSON.stringify(query)}`);
    assert.equal(query.state, state);
    assert.equal(query.iss, onramp.base);
    assert.equal(typeof query.code, 'string');

    const tokens = await onramp.exchangeCode({ code: query.code, redirectUri: rp.redirectUri, verifier });
    const claims = checkIdToken(tokens, await onramp.jwks(), { nonce });
    assert.deepEqual(claims.amr, ['otp', 'mfa']);

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, `expected one credential, got ${JSON.stringify(credentials)}`);
    assert.equal(credentials[0].isResidentCredential, true);
    assert.equal(credentials[0].rpId, 'localhost');

    await step('the same authenticator again, in plain words', async () => {
      // Still in the enrollment window: the security info page offers
      // another passkey; this authenticator already holds one, so the
      // browser refuses (InvalidStateError) and the page says what to do.
      await page.goto(`${onramp.base}/account/security`);
      await page.getByRole('button', { name: 'Add a passkey' }).click();
      const error = page.locator('#enroll-error');
      await error.waitFor({ state: 'visible' });
      assert.equal(
        await error.innerText(),
        'This device already has a passkey for your account. Sign in with it, or add a passkey on another device or security key.',
      );
      const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(after.credentials.length, 1, 'no second credential');
    });
    log.assertClean('the sign-in pages');
    onramp.assertRunning();
    enrolled = true;
    passed += 1;
  });

  /** Starts a fresh authorization request with no session cookie; returns what the RP needs. */
  async function freshAuthorization() {
    await context.clearCookies();
    const state = b64url(crypto.randomBytes(12));
    const nonce = b64url(crypto.randomBytes(12));
    const { verifier, challenge } = pkce();
    const callback = rp.nextCallback(TEST_TIMEOUT_MS - 10_000);
    callback.catch(() => {}); // awaited by the caller
    return { state, nonce, verifier, challenge, callback };
  }

  async function expectPasskeySignIn({ state, nonce, verifier, callback }) {
    const query = await step('redirect to the relying party', async () => {
      const q = await callback;
      await page.waitForURL((u) => u.port === String(rp.port) && u.pathname === '/callback');
      return q;
    });
    assert.equal(query.error, undefined, `authorization error: ${JSON.stringify(query)}`);
    assert.equal(query.state, state);
    assert.equal(query.iss, onramp.base);

    const tokens = await onramp.exchangeCode({ code: query.code, redirectUri: rp.redirectUri, verifier });
    const claims = checkIdToken(tokens, await onramp.jwks(), { nonce });
    assert.ok(Array.isArray(claims.amr), `amr is not an array: ${JSON.stringify(claims.amr)}`);
    assert.ok(['hwk', 'swk'].includes(claims.amr[0]), `amr[0] should be hwk or swk: ${JSON.stringify(claims.amr)}`);
    for (const m of ['user', 'pin', 'mfa']) {
      assert.ok(claims.amr.includes(m), `amr lacks ${m}: ${JSON.stringify(claims.amr)}`);
    }
    assert.ok(!claims.amr.includes('otp'), `a passkey sign-in should not say otp: ${JSON.stringify(claims.amr)}`);

    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1, 'signing in must not create another credential');
    log.assertClean('the sign-in pages');
    onramp.assertRunning();
    return credentials[0];
  }

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

  it('signs the same user in with the "Sign in with a passkey" button', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(enrolled, 'needs the passkey enrolled by the first test, which failed');
    const flow = await freshAuthorization();

    // Chromium hands a conditional (autofill) request straight to a virtual
    // authenticator, which would sign in before the button is clicked. Hold
    // the authenticator's "touch" back until the page asks for the button's
    // options (the autofill request answers the ceremony the page came
    // with, so the button's is the only options request), so the
    // conditional request stays pending, the button has to abort it, and
    // the modal request it starts is the one that signs in.
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
    let optionsRequests = 0;
    const releaseTouch = async (route) => {
      optionsRequests += 1;
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
      await route.continue();
    };
    await page.route('**/signin/passkey/options', releaseTouch);
    webauthnGets.length = 0;
    try {
      await step('passkey sign-in with the button', async () => {
        await page.goto(onramp.authorizeUrl({ redirectUri: rp.redirectUri, ...flow }));
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
      const cred = await expectPasskeySignIn(flow);
      assert.ok(cred.signCount >= 1, `the passkey was not used: ${JSON.stringify(cred)}`);
      assert.equal(optionsRequests, 1, 'only the button asks for options');
      await waitForGets((gets) => gets.every((c) => c.state !== 'pending'), 'every get() call to settle');
      assert.deepEqual(webauthnGets.map((c) => `${c.mediation}: ${c.state}`),
        conditionalMediation
          ? ['conditional: rejected AbortError', 'optional: resolved']
          : ['optional: resolved']);
      passed += 1;
    } finally {
      await page.unroute('**/signin/passkey/options', releaseTouch);
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
    }
  });

  it('signs the same user in from the autofill (conditional) request', { timeout: TEST_TIMEOUT_MS }, async (t) => {
    assert.ok(enrolled, 'needs the passkey enrolled by the first test, which failed');
    if (!conditionalMediation) {
      t.skip('this Chromium does not offer conditional mediation');
      return;
    }
    const flow = await freshAuthorization();
    webauthnGets.length = 0;
    // The page came with its ceremony: the autofill asks for no options.
    let optionsRequests = 0;
    const countOptions = (route) => {
      optionsRequests += 1;
      return route.continue();
    };
    await page.route('**/signin/passkey/options', countOptions);
    let cred;
    try {
      await step('conditional passkey sign-in', async () => {
        await page.goto(onramp.authorizeUrl({ redirectUri: rp.redirectUri, ...flow }));
        // No click: Chromium gives the conditional request to the virtual
        // authenticator as soon as the page makes it, which stands for the
        // user picking the passkey from the user name field's autofill.
      });
      cred = await expectPasskeySignIn(flow);
    } finally {
      await page.unroute('**/signin/passkey/options', countOptions);
    }
    assert.equal(optionsRequests, 0, "the autofill answers the page's own ceremony");
    assert.ok(cred.signCount >= 2, `the passkey was not used again: ${JSON.stringify(cred)}`);
    assert.deepEqual(webauthnGets.map((c) => `${c.mediation}: ${c.state}`), ['conditional: resolved']);
    passed += 1;
  });

  it('counts the enrollment window down and says what to do when it is over', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Another person, in a browser of their own whose clock the test moves.
    const token = await onramp.adminToken(ADMIN);
    const late = await onramp.createUser(token, { userPrincipalName: 'late@example.com', displayName: 'Late Hire' });
    const tap = await onramp.createTap(token, late.id);
    const other = await newContext(browser);
    await log.watchContext(other);
    const page2 = await other.newPage();
    log.watchPage(page2);
    try {
      await page2.clock.install();
      await step('to the enrollment page', async () => {
        await page2.goto(`${onramp.base}/signin`);
        await page2.getByLabel('User name').fill('late@example.com');
        await page2.getByRole('button', { name: 'Next' }).click();
        await page2.getByLabel('Temporary Access Pass').fill(tap);
        await page2.getByRole('button', { name: 'Sign in' }).click();
        await page2.waitForURL((u) => u.pathname === '/enroll');
      });
      const window_ = page2.locator('#window');
      assert.match(await window_.innerText(), /^You have \d+ minutes to set it up\.$/);
      await step('the window runs out', async () => {
        await page2.clock.runFor('11:00');
        await window_.filter({ hasText: 'The time to set up a passkey is over.' }).waitFor();
      });
      assert.equal(await window_.getAttribute('role'), 'alert');
      assert.ok(await page2.getByRole('button', { name: 'Create passkey' }).isDisabled(), 'the button still offered');
      assert.equal(await page2.getByRole('link', { name: 'Sign in again' }).getAttribute('href'), '/signin?r=');
      log.assertClean('the enrollment page');
      passed += 1;
    } finally {
      await other.close();
    }
  });

  it('puts the first focus on the main action of the other pages', { timeout: TEST_TIMEOUT_MS }, async () => {
    const token = await onramp.adminToken(ADMIN);
    const someone = await onramp.createUser(token, { userPrincipalName: 'someone@example.com', displayName: 'Someone' });
    await onramp.createTap(token, someone.id);
    const other = await newContext(browser);
    page3 = await other.newPage();
    const active = () => page3.evaluate(() => ({ id: document.activeElement.id, text: document.activeElement.textContent.trim() }));
    try {
      await step('the start page', async () => {
        await page3.goto(`${onramp.base}/`);
        await page3.getByRole('heading', { name: 'Onramp', level: 1 }).waitFor();
        assert.equal((await active()).text, 'Sign in');
      });
      await step('an error page', async () => {
        await page3.goto(`${onramp.base}/authorize?client_id=no-such-client&response_type=code`);
        await page3.getByRole('alert').waitFor();
        // No control to start on: the content itself, after the brand.
        assert.equal((await active()).id, 'main');
      });
      await step('a wrong pass', async () => {
        await page3.goto(`${onramp.base}/signin`);
        await page3.getByLabel('User name').fill('someone@example.com');
        await page3.getByRole('button', { name: 'Next' }).click();
        await page3.getByLabel('Temporary Access Pass').fill('WRONGPASS1');
        await page3.getByRole('button', { name: 'Sign in' }).click();
        await page3.getByRole('alert').waitFor();
        assert.equal((await active()).id, 'passcode', 'the pass field again, for the next try');
      });
      await step('the logout page without a session', async () => {
        await page3.goto(`${onramp.base}/logout`);
        await page3.getByRole('heading', { name: "You're signed out" }).waitFor();
        assert.equal((await active()).id, 'main');
      });
      await step('the logout page with a session', async () => {
        // The first browser is still signed in (from the tests above): it is asked.
        await page.goto(`${onramp.base}/logout`);
        await page.getByRole('heading', { name: 'Sign out?' }).waitFor();
        assert.equal(await page.evaluate(() => document.activeElement.textContent.trim()), 'Sign out');
      });
      passed += 1;
    } finally {
      await other.close();
    }
  });
});
