// The new hire's pages in a real browser (headless Chromium, a virtual
// authenticator per "device"):
//   1. a pass's first passkey ends on "You're all set", which continues to
//      the application; times on the security info page are shown in the
//      browser's zone (emulated); signing out ends on a page that says so;
//   2. the lost phone: with a new pass on a new device, the old passkey is
//      removed (with confirmation) and a new one set up;
//   3. German pages, asked for with ui_locales=de, and with Accept-Language.
//
// Run with tests/browser/run.sh (or `node --test newhire.test.mjs` here).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  Onramp, PageLog, SCREENSHOTS, TEST_TIMEOUT_MS, addVirtualAuthenticator, assertSetup, freePort,
  launchChromium, newContext, stepper,
} from './harness.mjs';

const ADMIN = { id: 'hr-sync', secret: 'hr-sync-secret-0123456789' };
const RP_ID = 'demo-rp';

describe('the new hire in a real browser', { timeout: 4 * TEST_TIMEOUT_MS }, () => {
  let tmp;
  let rpServer;
  let redirectUri;
  let onramp;
  let unguard;
  let browser;
  const log = new PageLog();
  let current; // the page a failing step shows
  const step = stepper({ pages: () => ({ '': current }), logs: () => [log], onramp: () => onramp, screenshots: SCREENSHOTS });

  before(async () => {
    assertSetup();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-newhire-'));
    rpServer = http.createServer((req, res) => res.end('callback'));
    await new Promise((resolve) => rpServer.listen(0, '127.0.0.1', resolve));
    redirectUri = `http://localhost:${rpServer.address().port}/callback`;
    onramp = new Onramp({
      port: await freePort(),
      dir: tmp,
      extraConfig: `
[[clients]]
id = "${ADMIN.id}"
secret = "${ADMIN.secret}"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"]

[[clients]]
id = "${RP_ID}"
secret = "demo-rp-secret-0123456789"
grant_types = ["authorization_code"]
redirect_uris = ["${redirectUri}"]
`,
    });
    unguard = onramp.killOnExit();
    await onramp.start();
    browser = await launchChromium(chromium);
  }, { timeout: TEST_TIMEOUT_MS });

  after(async () => {
    await browser?.close();
    await onramp?.stop();
    unguard?.();
    await new Promise((resolve) => rpServer?.close(resolve));
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, { timeout: TEST_TIMEOUT_MS });

  const authorizeUrl = (extra = {}) => `${onramp.base}/authorize?${new URLSearchParams({
    response_type: 'code', client_id: RP_ID, redirect_uri: redirectUri, scope: 'openid',
    state: 'st', nonce: 'n', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256', ...extra,
  })}`;

  async function person(upn) {
    const token = await onramp.adminToken(ADMIN);
    const user = await onramp.createUser(token, { userPrincipalName: upn, displayName: 'New Hire' });
    return { user, pass: async () => onramp.createTap(await onramp.adminToken(ADMIN), user.id) };
  }

  /** A browser profile with its own authenticator (one device). */
  async function device(options = {}) {
    const context = await newContext(browser, options);
    await log.watchContext(context);
    const page = await context.newPage();
    log.watchPage(page);
    const authenticator = await addVirtualAuthenticator(context, page);
    current = page;
    return { context, page, authenticator };
  }

  async function signInWithPass(page, url, upn, pass, words) {
    await page.goto(url);
    await page.getByLabel(words.username).fill(upn);
    await page.getByRole('button', { name: words.next }).click();
    await page.getByLabel(words.tap).fill(pass);
    await page.getByRole('button', { name: words.signIn }).click();
    await page.waitForURL((u) => u.pathname === '/enroll');
  }
  const EN = { username: 'User name', next: 'Next', tap: 'Temporary Access Pass', signIn: 'Sign in' };
  const DE = { username: 'Benutzername', next: 'Weiter', tap: 'Befristeter Zugriffspass', signIn: 'Anmelden' };

  let hire;

  it('ends a first passkey on "all set", shows local times, confirms signing out', { timeout: TEST_TIMEOUT_MS }, async () => {
    hire = await person('hire@example.com');
    const zone = 'Asia/Kolkata'; // UTC+05:30: no hour or minute is the same as in UTC
    const { context, page } = await device({ timezoneId: zone });
    try {
      await step('TAP sign-in and a passkey', async () => {
        await signInWithPass(page, authorizeUrl(), 'hire@example.com', await hire.pass(), EN);
        await page.getByRole('button', { name: 'Create passkey' }).click();
      });
      await step('all set', async () => {
        await page.getByRole('heading', { name: "You're all set" }).waitFor();
        assert.match(await page.locator('main').innerText(), /sign in with your passkey/);
        await page.getByRole('link', { name: `Continue to ${RP_ID}` }).click();
        await page.waitForURL((u) => u.pathname === '/callback' && u.searchParams.has('code'));
      });
      await step('local times on the security info page', async () => {
        await page.goto(`${onramp.base}/account/security`);
        const time = page.locator('ul.methods time').first();
        const utc = await time.getAttribute('datetime');
        assert.match(utc, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        await page.waitForFunction(() => document.querySelector('ul.methods time')?.title);
        const shown = await time.innerText();
        const fallback = await time.getAttribute('title');
        assert.match(fallback, / UTC$/, 'the markup reads UTC without script');
        assert.notEqual(shown, fallback, 'the script rewrote the time');
        // Half an hour off UTC: the minutes tell the zone apart.
        const localMinutes = String((new Date(utc).getUTCMinutes() + 30) % 60).padStart(2, '0');
        assert.ok(shown.includes(`:${localMinutes}`), `shown in the emulated zone: ${shown} (${utc})`);
        assert.match(shown, /GMT\+5:30|IST/, `with the zone named: ${shown}`);
      });
      await step('sign out', async () => {
        await page.getByRole('button', { name: 'Sign out' }).click();
        await page.getByRole('heading', { name: "You're signed out" }).waitFor();
        await page.goto(`${onramp.base}/account/security`);
        await page.waitForURL((u) => u.pathname === '/signin');
      });
      log.assertClean('the all-set flow');
    } finally {
      await context.close();
    }
  });

  it('lets someone with a new pass remove the lost passkey and set up a new one', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.ok(hire, 'the first test made the person');
    const { context, page, authenticator } = await device();
    try {
      await step('signed in with a new pass on a new phone', async () => {
        await signInWithPass(page, `${onramp.base}/signin`, 'hire@example.com', await hire.pass(), EN);
      });
      await step('remove the lost passkey', async () => {
        await page.getByRole('heading', { name: 'Lost your phone or security key?' }).waitFor();
        assert.equal(await page.locator('#passkeys > li').count(), 1);
        await page.getByRole('button', { name: 'Remove “Passkey 1”…' }).click();
        await page.getByRole('heading', { name: 'Remove passkey' }).waitFor();
        await page.getByRole('button', { name: 'Remove passkey' }).click();
        await page.getByText('The passkey was removed. Set up a new one now.').waitFor();
        assert.equal(await page.locator('#passkeys').count(), 0, 'no passkey listed any more');
        assert.equal(await page.getByRole('button', { name: /Skip/ }).count(), 0, 'no skipping without a passkey');
      });
      await step('a new passkey', async () => {
        await page.getByRole('button', { name: 'Create passkey' }).click();
        await page.getByRole('heading', { name: "You're all set" }).waitFor();
        await page.getByRole('link', { name: 'Go to your security info' }).click();
        await page.waitForURL((u) => u.pathname === '/account/security');
        assert.equal(await page.locator('ul.methods > li').count(), 1, 'exactly the new passkey');
      });
      assert.equal((await authenticator.credentials()).length, 1);
      log.assertClean('the lost-phone flow');
    } finally {
      await context.close();
    }
  });

  it('speaks German when the application asks with ui_locales=de', { timeout: TEST_TIMEOUT_MS }, async () => {
    const german = await person('neu@example.com');
    const { context, page } = await device({ locale: 'en-US' });
    try {
      await step('German sign-in pages', async () => {
        await page.goto(authorizeUrl({ ui_locales: 'fr de en' }));
        await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
        assert.equal(await page.getAttribute('html', 'lang'), 'de');
        assert.ok(await page.getByRole('button', { name: 'Mit einem Passkey anmelden' }).isVisible());
        await page.getByLabel(DE.username).fill('neu@example.com');
        await page.getByRole('button', { name: DE.next }).click();
        await page.getByRole('heading', { name: 'Befristeten Zugriffspass eingeben' }).waitFor();
        assert.equal(await page.getAttribute('html', 'lang'), 'de');
        await page.getByLabel(DE.tap).fill('WRONGPASS1');
        await page.getByRole('button', { name: DE.signIn }).click();
        await page.getByText(/passen nicht zusammen/).waitFor();
        await page.getByLabel(DE.tap).fill(await german.pass());
        await page.getByRole('button', { name: DE.signIn }).click();
        await page.waitForURL((u) => u.pathname === '/enroll');
        await page.getByRole('heading', { name: 'Passkey einrichten' }).waitFor();
        await page.locator('#window', { hasText: /^Sie haben noch \d+ Minuten, um ihn einzurichten\.$/ }).waitFor();
        await page.getByRole('button', { name: 'Passkey erstellen' }).click();
        await page.getByRole('heading', { name: 'Alles erledigt' }).waitFor();
        assert.equal(await page.getAttribute('html', 'lang'), 'de');
        assert.ok(await page.getByRole('link', { name: `Weiter zu ${RP_ID}` }).isVisible());
      });
    } finally {
      await context.close();
    }
  });

  it('speaks German to a browser that asks with Accept-Language', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { context, page } = await device({ locale: 'de-DE' });
    try {
      await step('German pages', async () => {
        await page.goto(`${onramp.base}/`);
        await page.getByRole('heading', { name: 'Onramp' }).waitFor();
        assert.equal(await page.getAttribute('html', 'lang'), 'de');
        assert.match(await page.locator('main').innerText(), /Anmeldedienst Ihrer Organisation/);
        await page.goto(`${onramp.base}/signin`);
        await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
        assert.match(await page.locator('main').innerText(), /Neu hier oder Gerät verloren\?/);
        await page.goto(`${onramp.base}/signed-out`);
        await page.getByRole('heading', { name: 'Sie sind abgemeldet' }).waitFor();
        await page.goto(`${onramp.base}/authorize/resume?r=gone`);
        await page.getByRole('heading', { name: 'Diese Anmeldung ist abgelaufen' }).waitFor();
      });
    } finally {
      await context.close();
    }
  });
});
