// Real-browser test of the admin portal (/admin), from the first start on.
//
// Starts the onramp binary with an empty embedded store, so it bootstraps
// admin@localhost and prints that administrator's Temporary Access Pass, and
// drives Debian's headless Chromium with two browser contexts (two people),
// each with its own CDP virtual authenticator:
//
//   1. The administrator opens /admin, is sent through Onramp's own sign-in
//      (user name, then the printed pass), must enroll a passkey, and lands
//      on the portal's Users page.
//   2. In the portal they create a user and a Temporary Access Pass for them;
//      the pass page shows the passcode, a QR code of the sign-in link and a
//      working copy button.
//   3. The new user, in another browser, follows the sign-in link, signs in
//      with the passcode, enrolls a passkey, and deletes it again on the
//      security info page (which warns that it is the last one).
//   4. The administrator's audit log shows each of those steps.
//   5. At a phone's width (390 px), the administrator creates a group, adds
//      the new user to it, sees the group on the user's page, and picks it
//      by name in the TAP policy's target picker; a minimum lifetime out of
//      bounds is explained beside its field, the form as entered, and the
//      policy is saved once it is fixed.
//   6. Still at 390 px, they register a relying party: the page that shows
//      its secret once keeps the secret and "Copy secret" on the screen; a
//      refused registration, a deletion's confirmation and the new user's
//      "No administrator role" page put the first focus on their content.
//   7. Still at that width, the onboarding policy page (passes for the hire
//      date) shows each refused value beside its field, as typed, and saves.
//
// Every page state is also checked for accessibility (harness.mjs).
//
// Run with tests/browser/run.sh (or `node --test portal.test.mjs` here).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  Onramp, PageLog, SCREENSHOTS, TEST_TIMEOUT_MS, addVirtualAuthenticator, assertSetup, freePort,
  launchChromium, newContext, stepper,
} from './harness.mjs';

const NEW_USER = { upn: 'ada.lovelace@example.com', displayName: 'Ada Lovelace' };
const GROUP = { name: 'Analytical Engine team', description: 'Notes and programs', nickname: 'engine-team' };
const PHONE = { width: 390, height: 844 };

const shot = (page, name) => page.screenshot({ path: path.join(SCREENSHOTS, `portal-${name}.png`), fullPage: true });

/** Records the URLs a page's main frame navigates to, redirects included. */
function trackNavigations(page) {
  const urls = [];
  page.on('request', (req) => {
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) urls.push(new URL(req.url()));
  });
  return urls;
}

const pathsOf = (urls) => urls.map((u) => u.pathname);

/** Asserts that `want` occurs in `got` in this order (other entries may come between). */
function assertSubsequence(got, want, what) {
  let i = 0;
  for (const p of got) if (i < want.length && p === want[i]) i += 1;
  assert.equal(i, want.length, `${what}: expected ${JSON.stringify(want)} in this order, got ${JSON.stringify(got)}`);
}

/** Asserts that the page needs no sideways scrolling. */
async function assertFits(page, what) {
  const { scroll, view } = await page.evaluate(
    () => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
  assert.ok(scroll <= view, `${what} is ${scroll} px wide in a ${view} px window`);
}

/** The text of each cell of each row of a table body. */
function tableRows(page, selector) {
  return page.locator(`${selector} tbody tr`).evaluateAll(
    (rows) => rows.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
}

describe('the admin portal in a real browser', { timeout: 5 * TEST_TIMEOUT_MS }, () => {
  let tmp;
  let onramp;
  let unguard;
  let browser;
  const admin = { log: new PageLog('admin') }; // {context, page, authenticator, navigations, id}
  const person = { log: new PageLog('user') }; // the new user's browser
  const created = {}; // {id, passcode, signInLink}
  const done = new Set(); // tests that got to their end
  const TESTS = 7;

  before(async () => {
    assertSetup();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-portal-'));
    onramp = new Onramp({ port: await freePort(), dir: tmp });
    unguard = onramp.killOnExit();
    await onramp.start();
    browser = await launchChromium(chromium);
    for (const who of [admin, person]) {
      who.context = await newContext(browser);
      await who.log.watchContext(who.context);
      who.page = await who.context.newPage();
      who.log.watchPage(who.page);
      who.authenticator = await addVirtualAuthenticator(who.context, who.page);
      who.navigations = trackNavigations(who.page);
    }
    // The copy button writes to the clipboard; the test reads it back.
    await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: onramp.base });
  }, { timeout: TEST_TIMEOUT_MS });

  after(async () => {
    const problems = [];
    const attempt = async (what, fn) => {
      try { await fn(); } catch (e) { problems.push(`${what}: ${e.message}`); }
    };
    const showLogs = done.size < TESTS;
    if (showLogs) console.log(`browser log [admin]:\n  ${admin.log}\nbrowser log [user]:\n  ${person.log}`);
    await attempt('close browser', async () => { await browser?.close(); });
    await attempt('stop onramp', async () => { await onramp?.stop(); });
    unguard?.();
    if (showLogs && onramp?.output.trim()) console.log(`onramp output:\n${onramp.output.trim()}`);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    if (problems.length) console.log(`cleanup problems:\n  ${problems.join('\n  ')}`);
  }, { timeout: TEST_TIMEOUT_MS });

  const step = stepper({
    pages: () => ({ admin: admin.page, user: person.page }),
    logs: () => [admin.log, person.log],
    onramp: () => onramp,
  });

  /** The element is inside the window, left to right. */
  async function assertOnScreen(page, locator, what) {
    const box = await locator.boundingBox();
    const width = await page.evaluate(() => window.innerWidth);
    assert.ok(box, `${what} is not shown`);
    assert.ok(box.x >= 0 && box.x + box.width <= width, `${what} spans ${box.x}..${box.x + box.width} px of ${width}`);
  }

  const needs = (name) => assert.ok(done.has(name), `needs what an earlier test (${name}) does, and that test failed`);

  it('signs the bootstrap administrator in with the printed pass and enrolls a passkey', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { upn, passcode, signInUrl } = await step('the first-start output', async () => onramp.bootstrapPass());
    assert.equal(upn, 'admin@localhost');
    assert.equal(signInUrl, `${onramp.base}/signin?login_hint=admin%40localhost`);
    const { page, navigations } = admin;

    await step('the portal sends a stranger to sign in', async () => {
      await page.goto(`${onramp.base}/admin`);
      await page.waitForURL((u) => u.pathname === '/authorize'); // the sign-in page, answered at once
      // Through the portal's own OIDC request, as its public client.
      assertSubsequence(pathsOf(navigations), ['/admin', '/admin/login', '/authorize'],
        'redirects to sign-in');
      const authorize = navigations.find((u) => u.pathname === '/authorize').searchParams;
      assert.equal(authorize.get('client_id'), 'onramp-admin-portal');
      assert.equal(authorize.get('redirect_uri'), `${onramp.base}/admin/callback`);
      assert.equal(authorize.get('response_type'), 'code');
      assert.equal(authorize.get('code_challenge_method'), 'S256');
      assert.ok(authorize.get('state'), 'no state');
      assert.ok(authorize.get('scope').split(' ').includes('openid'), `scope: ${authorize.get('scope')}`);
      const r = await page.locator('#username-form input[name="r"]').inputValue();
      assert.ok(r, `the sign-in page is not for a pending request: ${page.url()}`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.getByText('to continue to Onramp admin portal').waitFor();
      await shot(page, 'signin');
      await page.getByLabel('User name').fill(upn);
      await page.getByRole('button', { name: 'Next' }).click();
    });

    await step('the pass page', async () => {
      await page.getByRole('heading', { name: 'Enter your Temporary Access Pass' }).waitFor();
      await page.getByLabel('Temporary Access Pass').fill(passcode);
      await page.getByRole('button', { name: 'Sign in' }).click();
    });

    await step('passkey enrollment', async () => {
      await page.waitForURL((u) => u.pathname === '/enroll');
      await page.getByRole('heading', { name: 'Set up your passkey' }).waitFor();
      // A first sign-in without a passkey may not skip this.
      assert.equal(await page.getByRole('button', { name: /Skip/ }).count(), 0, 'enrollment offers a skip');
      await shot(page, 'admin-enroll');
      await page.getByRole('button', { name: 'Create passkey' }).click();
      await page.getByRole('heading', { name: "You're all set" }).waitFor();
      await page.getByRole('link', { name: /^Continue to / }).click();
    });

    await step('back in the portal', async () => {
      await page.waitForURL((u) => u.pathname === '/admin/users');
      assertSubsequence(pathsOf(navigations), ['/enroll', '/authorize/resume', '/admin/callback', '/admin', '/admin/users'],
        'the way back to the portal');
      const callback = navigations.find((u) => u.pathname === '/admin/callback').searchParams;
      assert.ok(callback.get('code'), 'the callback got no code');
      assert.equal(callback.get('state'), navigations.find((u) => u.pathname === '/authorize').searchParams.get('state'));
      await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
      await shot(page, 'users');
    });

    const nav = page.getByRole('navigation', { name: 'Admin sections' });
    assert.deepEqual(await nav.getByRole('link').allTextContents(), ['Users', 'Groups', 'Policies', 'Clients', 'Audit log', 'Webhooks', 'Onboarding'],
      'a Global Administrator sees every section');
    assert.equal(await nav.getByRole('link', { name: 'Users' }).getAttribute('aria-current'), 'page');
    assert.ok((await page.locator('header.topbar .whoami').innerText()).includes(upn), 'who is signed in');
    const rows = await tableRows(page, 'main');
    const me = rows.find((r) => r[0] === upn);
    assert.ok(me, `admin@localhost is not in the users table: ${JSON.stringify(rows)}`);
    assert.deepEqual(me.slice(1), ['Administrator', 'Enabled', 'Global Administrator']);
    const href = await page.getByRole('link', { name: upn, exact: true }).getAttribute('href');
    admin.id = href.match(/^\/admin\/users\/([^/?]+)$/)?.[1];
    assert.ok(admin.id, `no user id in the link ${href}`);

    const creds = await admin.authenticator.credentials();
    assert.equal(creds.length, 1, `expected one credential, got ${JSON.stringify(creds)}`);
    assert.equal(creds[0].rpId, 'localhost');
    assert.equal(creds[0].isResidentCredential, true);
    // The portal keeps its token in an HttpOnly cookie, never in the page.
    const cookies = await admin.context.cookies(onramp.base);
    const token = cookies.find((c) => c.name === 'onramp_admin');
    assert.ok(token, `no portal cookie: ${JSON.stringify(cookies.map((c) => c.name))}`);
    assert.equal(token.httpOnly, true);
    assert.equal(token.sameSite, 'Strict');
    admin.log.assertClean('the sign-in and portal pages');
    onramp.assertRunning();
    done.add('admin');
  });

  it('creates a user and a Temporary Access Pass in the portal', { timeout: TEST_TIMEOUT_MS }, async () => {
    needs('admin');
    const { page } = admin;

    await step('create a user', async () => {
      const form = page.locator('form#create-user');
      await page.getByRole('heading', { name: 'Create a user' }).waitFor();
      await form.getByLabel('User name (UPN)').fill(NEW_USER.upn);
      await form.getByLabel('Display name').fill(NEW_USER.displayName);
      await form.getByRole('button', { name: 'Create user' }).click();
      await page.waitForURL((u) => /^\/admin\/users\/[^/]+$/.test(u.pathname) && u.searchParams.get('done') === 'created');
    });
    created.id = new URL(page.url()).pathname.split('/').pop();
    assert.notEqual(created.id, admin.id);

    await step("the user's page", async () => {
      await page.getByRole('status').filter({ hasText: 'The user was created.' }).waitFor();
      await page.getByRole('heading', { name: NEW_USER.displayName, level: 1 }).waitFor();
      assert.equal(await page.locator('#user-upn').innerText(), NEW_USER.upn);
      assert.equal(await page.getByText('No Temporary Access Pass.').count(), 1);
      assert.deepEqual(await tableRows(page, '#passkeys'), [['No passkeys.']]);
      await shot(page, 'user');
    });

    await step('create a pass', async () => {
      const form = page.locator('form#create-tap');
      await form.getByLabel(/Lifetime in minutes/).waitFor();
      await form.getByRole('button', { name: 'Create a Temporary Access Pass' }).click();
      await page.getByRole('heading', { name: 'Temporary Access Pass created' }).waitFor();
      await shot(page, 'tap');
    });
    // Post/redirect/get: the pass is on a page of its own, shown once.
    assert.match(new URL(page.url()).pathname, /^\/admin\/shown\/[A-Za-z0-9_-]+$/);
    const shownAt = page.url();
    assert.equal((await page.locator('#handout-upn').innerText()).trim(), NEW_USER.upn, 'whose pass it is');

    created.passcode = (await page.locator('code#passcode').innerText()).trim();
    assert.match(created.passcode, /^[A-Z0-9]{8,48}$/, 'the passcode shown');

    created.signInLink = await page.locator('a#signin-link').getAttribute('href');
    assert.equal(created.signInLink, `${onramp.base}/signin?login_hint=${encodeURIComponent(NEW_USER.upn)}`);

    await step('the QR code', async () => {
      const qr = page.locator('img.qr');
      assert.equal(await qr.count(), 1, 'no QR code image');
      assert.equal(await qr.getAttribute('alt'), `QR code of the sign-in address for ${NEW_USER.upn}`);
      const src = await qr.getAttribute('src');
      assert.match(src, /^data:image\/svg\+xml;base64,/, 'the QR code is an inline SVG');
      const svg = Buffer.from(src.split(',')[1], 'base64').toString('utf8');
      assert.match(svg, /<svg[\s>]/, 'the QR code data is no SVG');
      // Loaded and drawn (the page's CSP allows data: images).
      const size = await qr.evaluate(async (img) => {
        await img.decode();
        return { natural: img.naturalWidth, shown: img.getBoundingClientRect().width };
      });
      assert.ok(size.natural > 0 && size.shown >= 100, `the QR code is not shown: ${JSON.stringify(size)}`);
    });

    await step('the copy button', async () => {
      const copy = page.locator('button[data-copy="passcode"]');
      assert.equal(await copy.count(), 1, 'no copy button');
      assert.equal(await copy.innerText(), 'Copy passcode');
      await page.bringToFront(); // the clipboard wants a focused page
      await copy.click();
      await page.waitForFunction(
        () => document.querySelector('button[data-copy="passcode"]').textContent !== 'Copy passcode');
      assert.equal(await copy.innerText(), 'Copied', 'the copy button did not copy');
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), created.passcode);
      // And the label comes back.
      await page.waitForFunction(
        () => document.querySelector('button[data-copy="passcode"]').textContent === 'Copy passcode');
    });

    await step("the user's page lists the pass", async () => {
      await page.getByRole('link', { name: `Back to ${NEW_USER.upn}` }).click();
      await page.waitForURL((u) => u.pathname === `/admin/users/${created.id}`);
      assert.match(await page.locator('#tap-status').innerText(), /^Usable\n/);
      assert.equal(await page.locator("#tap-status").getAttribute("data-reason"), "EnabledByPolicy");
      await page.getByRole('button', { name: 'Replace with a new pass' }).waitFor();
    });

    await step('the pass page again shows the pass no more', async () => {
      await page.goto(shownAt);
      await page.getByRole('heading', { name: 'Already shown' }).waitFor();
      assert.ok(!(await page.locator('main').innerText()).includes(created.passcode), 'the passcode shown again');
      assert.equal(await page.locator('code#passcode').count(), 0);
      // 410 Gone is the expected answer here, not a fault of the pages.
      const gone = `HTTP 410 GET ${shownAt}`;
      assert.ok(admin.log.httpErrors.includes(gone), `expected ${gone}`);
      admin.log.httpErrors = admin.log.httpErrors.filter((line) => line !== gone);
    });
    admin.log.assertClean('the portal pages');
    onramp.assertRunning();
    done.add('tap');
  });

  it('signs the new user in with the pass in another browser, enrolls a passkey and deletes it', { timeout: TEST_TIMEOUT_MS }, async () => {
    needs('tap');
    const { page } = person;
    // Another person's browser: nothing of the administrator's.
    assert.deepEqual(await person.context.cookies(onramp.base), []);

    await step('the sign-in link', async () => {
      await page.goto(created.signInLink);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      assert.equal(await page.getByLabel('User name').inputValue(), NEW_USER.upn, 'the link fills in the user name');
      await page.getByRole('button', { name: 'Next' }).click();
    });

    await step('the pass', async () => {
      await page.getByRole('heading', { name: 'Enter your Temporary Access Pass' }).waitFor();
      assert.ok((await page.locator('main').innerText()).includes(`Signing in as ${NEW_USER.upn}`));
      await page.getByLabel('Temporary Access Pass').fill(created.passcode);
      await page.getByRole('button', { name: 'Sign in' }).click();
    });

    await step('passkey enrollment', async () => {
      await page.waitForURL((u) => u.pathname === '/enroll');
      await page.getByRole('heading', { name: 'Set up your passkey' }).waitFor();
      await page.getByRole('button', { name: 'Create passkey' }).click();
      // Signed in for no application: all set, then the security info page.
      await page.getByRole('heading', { name: "You're all set" }).waitFor();
      await page.getByRole('link', { name: 'Go to your security info' }).click();
      await page.waitForURL((u) => u.pathname === '/account/security');
      await page.getByRole('heading', { name: 'Security info' }).waitFor();
      await shot(page, 'security-info');
    });
    assert.ok((await page.locator('main').innerText()).includes(`Signed in as ${NEW_USER.upn}.`));
    const creds = await person.authenticator.credentials();
    assert.equal(creds.length, 1, `expected one credential, got ${JSON.stringify(creds)}`);
    assert.equal(creds[0].rpId, 'localhost');
    const adminCreds = await admin.authenticator.credentials();
    assert.equal(adminCreds.length, 1, "the administrator's authenticator got another credential");
    assert.notEqual(creds[0].credentialId, adminCreds[0].credentialId);
    assert.notEqual(creds[0].userHandle, adminCreds[0].userHandle);
    // As the server names credentials (base64url); DevTools gives base64.
    person.credentialId = Buffer.from(creds[0].credentialId, 'base64').toString('base64url');

    const passkeys = page.locator('ul.methods > li');
    assert.equal(await passkeys.count(), 1, 'the new passkey is not listed');
    const name = await passkeys.first().getByLabel('Name').inputValue();
    assert.ok(name, 'the passkey has no name');
    assert.equal(await page.getByText('You have no passkey.').count(), 0);

    await step('delete the passkey', async () => {
      await passkeys.first().getByRole('button', { name: `Delete “${name}”…` }).click();
      await page.waitForURL((u) => u.pathname === '/account/passkeys/delete');
      await page.getByRole('heading', { name: 'Delete passkey' }).waitFor();
      // The last passkey: a warning, not just a question.
      const warning = page.getByRole('alert');
      assert.match(await warning.innerText(), new RegExp(`“${name}” is your last passkey\\.`));
      await shot(page, 'delete-last-passkey');
      await page.getByRole('button', { name: 'Delete passkey' }).click();
      await page.waitForURL((u) => u.pathname === '/account/security' && u.searchParams.get('done') === 'deleted');
    });
    await page.getByRole('status').filter({ hasText: 'The passkey was deleted.' }).waitFor();
    assert.equal(await passkeys.count(), 0, 'the passkey is still listed');
    assert.match(await page.getByRole('alert').first().innerText(), /You have no passkey\./);
    person.log.assertClean("the user's pages");
    onramp.assertRunning();
    done.add('user');
  });

  it("shows every step in the administrator's audit log", { timeout: TEST_TIMEOUT_MS }, async () => {
    needs('user');
    const { page } = admin;
    await step('the audit log', async () => {
      await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Audit log' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/audit');
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
      await shot(page, 'audit');
    });
    // Actors and targets by name (the directory's user names).
    const byAdmin = 'admin@localhost';
    const byUser = NEW_USER.upn;
    const target = `user ${NEW_USER.upn}`;
    const expected = [ // oldest first
      ['user.created', byAdmin],
      ['tap.created', byAdmin],
      ['tap.used', byUser],
      ['passkey.registered', byUser],
      ['passkey.deleted', byUser],
    ];
    // Columns: time, event, outcome, actor, target, address, request, detail.
    const rows = await tableRows(page, 'table#audit');
    const stamps = await page.locator('table#audit tbody time').evaluateAll((ts) => ts.map((t) => t.getAttribute('datetime')));
    assert.ok(stamps.length > 0 && stamps.every((d) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(d)), `UTC in the markup: ${stamps}`);
    const event = {};
    for (const [kind, actor] of expected) {
      const row = rows.find((r) => r[1] === kind && r[4] === target);
      assert.ok(row, `no ${kind} event for ${NEW_USER.upn} in the audit log:\n${rows.map((r) => r.join(' | ')).join('\n')}`);
      assert.equal(row[2], 'success', `${kind}: outcome`);
      assert.equal(row[3], actor, `${kind}: actor`);
      // Shown in the reader's zone by time.js; UTC in the markup (below).
      assert.match(row[0], /\d\d:\d\d/, `${kind}: time`);
      event[kind] = { address: row[5], request: row[6], detail: row[7] };
    }
    // The pass that was used is the one the portal created; the passkey
    // deleted is the one registered, the credential in the user's browser.
    const tapId = event['tap.created'].detail.match(/^tap (\S+) valid from /)?.[1];
    assert.ok(tapId, `tap.created names no pass: ${event['tap.created'].detail}`);
    assert.equal(event['tap.used'].detail, `tap ${tapId}`);
    assert.ok(event['passkey.registered'].detail.endsWith(`(${person.credentialId})`),
      `passkey.registered names another credential than ${person.credentialId}: ${event['passkey.registered'].detail}`);
    assert.equal(event['passkey.deleted'].detail, `own passkey ${person.credentialId}`);
    for (const [kind, e] of Object.entries(event)) {
      assert.equal(e.address, '127.0.0.1', `${kind}: client address`);
      assert.ok(e.request, `${kind}: no request id`);
    }
    assert.equal(new Set(Object.values(event).map((e) => e.request)).size, expected.length,
      'each step was its own request');
    // The administrator's own first start is there too.
    const adminTarget = 'user admin@localhost';
    for (const [kind, actor] of [['user.created', 'system'], ['tap.created', 'system'], ['tap.used', byAdmin],
      ['passkey.registered', byAdmin]]) {
      assert.ok(rows.some((r) => r[1] === kind && r[3] === actor && r[4] === adminTarget),
        `no ${kind} event by ${actor} for admin@localhost`);
    }

    await step('filtered by the new user', async () => {
      const filter = page.locator('form#audit-filter');
      await filter.getByLabel('Target').fill(created.id);
      await filter.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/audit' && u.searchParams.get('target') === created.id);
    });
    const filtered = await tableRows(page, 'table#audit');
    assert.ok(filtered.every((r) => r[4] === target),
      `the filter let other targets through:\n${filtered.map((r) => r.join(' | ')).join('\n')}`);
    // Newest first, and in the order they happened.
    assertSubsequence(filtered.map((r) => r[1]).reverse(), expected.map(([kind]) => kind), 'events of the new user');
    admin.log.assertClean('the portal pages');
    onramp.assertRunning();
    done.add('audit');
  });

  it('creates a group and adds a member through the real pages, at a phone width', { timeout: TEST_TIMEOUT_MS }, async () => {
    needs('tap');
    const { page } = admin;
    await page.setViewportSize(PHONE);

    await step('the groups section', async () => {
      await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Groups' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/groups');
      await page.getByRole('heading', { name: 'Groups', level: 1 }).waitFor();
      assert.deepEqual(await tableRows(page, 'table#groups'), [['No groups yet.']]);
      await assertFits(page, 'the groups page');
    });

    await step('create a group', async () => {
      const form = page.locator('form#create-group');
      await page.getByRole('heading', { name: 'Create a group' }).waitFor();
      await form.getByLabel('Display name').fill(GROUP.name);
      await form.getByLabel('Description (optional)').fill(GROUP.description);
      await form.getByLabel('Mail nickname').fill(GROUP.nickname);
      await form.getByRole('button', { name: 'Create group' }).click();
      await page.waitForURL((u) => /^\/admin\/groups\/[^/]+$/.test(u.pathname) && u.searchParams.get('done') === 'created');
      await page.getByRole('status').filter({ hasText: 'The group was created.' }).waitFor();
      await page.getByRole('heading', { name: GROUP.name, level: 1 }).waitFor();
    });
    const groupPath = new URL(page.url()).pathname;
    assert.equal(await page.locator('#group-nickname').innerText(), GROUP.nickname);
    assert.deepEqual(await tableRows(page, 'table#members'), [['No members yet.']]);

    await step('add a member by user name', async () => {
      const form = page.locator('form#add-member');
      await form.getByLabel('Add a member: user name (UPN)').fill(NEW_USER.upn);
      await form.getByRole('button', { name: 'Add member' }).click();
      await page.waitForURL((u) => u.pathname === groupPath && u.searchParams.get('done') === 'member-added');
      await page.getByRole('status').filter({ hasText: 'The member was added to the group.' }).waitFor();
    });
    const members = await tableRows(page, 'table#members');
    assert.deepEqual(members, [[`${NEW_USER.upn}${NEW_USER.displayName}`, 'Enabled', 'Remove…']]);
    assert.equal(await page.getByRole('link', { name: `Remove ${NEW_USER.upn} from the group…` }).count(), 1);
    await assertFits(page, 'the group page');
    await shot(page, 'group');

    await step("the member's page lists the group", async () => {
      await page.getByRole('link', { name: NEW_USER.upn, exact: true }).click();
      await page.waitForURL((u) => u.pathname === `/admin/users/${created.id}`);
      await page.getByRole('heading', { name: 'Groups', level: 2 }).waitFor();
      const link = page.locator('#user-groups').getByRole('link', { name: GROUP.name });
      assert.equal(await link.getAttribute('href'), groupPath);
      await assertFits(page, "the user's page");
    });

    await step('the TAP policy picks the group by name', async () => {
      await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Policies' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/policy');
      const form = page.locator('form#tap-policy');
      const chosen = form.locator('.chosen');
      // All users: the lists are out of the way until asked for.
      assert.equal(await form.getByLabel('All users').isChecked(), true);
      assert.equal(await chosen.isHidden(), true, 'the lists show while the policy applies to all users');
      await form.getByLabel('Only these users and groups').check();
      await chosen.waitFor({ state: 'visible' });
      const box = chosen.getByRole('checkbox', { name: new RegExp(GROUP.name) });
      const filter = chosen.getByLabel('Filter included groups by name');
      await filter.fill('no such group');
      assert.equal(await box.isHidden(), true, 'the filter did not hide a group that does not match');
      await filter.fill(GROUP.name.slice(0, 10).toUpperCase());
      await box.check();
      await assertFits(page, 'the policy page');
      await shot(page, 'policy-picker');
    });

    await step('a minimum lifetime out of bounds is refused beside its field', async () => {
      const form = page.locator('form#tap-policy');
      const min = form.getByLabel('Minimum lifetime (minutes)');
      const original = await min.inputValue();
      await min.fill('5');
      await form.getByRole('button', { name: 'Save TAP policy' }).click();
      // The same page (portal/form.rs), the form as entered.
      await page.locator('#min-error').waitFor();
      assert.equal(await page.locator('#min-error').innerText(), 'Minimum lifetime must be between 10 and 43,200 minutes.');
      assert.equal(await min.getAttribute('aria-invalid'), 'true');
      assert.equal(await min.getAttribute('aria-describedby'), 'min-error');
      assert.equal(await min.inputValue(), '5', 'the value as typed');
      const summary = page.getByRole('alert');
      assert.match(await summary.innerText(), /The Temporary Access Pass policy was not saved/);
      assert.equal(await summary.getByRole('link').getAttribute('href'), '#min-error');
      assert.equal(await form.getByLabel('Only these users and groups').isChecked(), true, 'the choice kept');
      assert.equal(await form.locator('.chosen').isVisible(), true, 'the lists shown again');
      assert.equal(await form.locator('.chosen').getByRole('checkbox', { name: new RegExp(GROUP.name) }).isChecked(), true,
        'the group ticked before is not ticked any more');
      await assertFits(page, 'the policy page with an error');
      await shot(page, 'policy-error');
      const refused = admin.log.httpErrors.filter((l) => / POST .*\/admin\/policy\/tap$/.test(l));
      assert.deepEqual(refused, [`HTTP 400 POST ${onramp.base}/admin/policy/tap`]);
      admin.log.httpErrors = admin.log.httpErrors.filter((l) => !refused.includes(l));
      await min.fill(original);
    });

    await step('saved with the group', async () => {
      const form = page.locator('form#tap-policy');
      await form.getByRole('button', { name: 'Save TAP policy' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/policy' && u.searchParams.get('done') === 'tap');
      await page.getByRole('status').filter({ hasText: 'The Temporary Access Pass policy was saved.' }).waitFor();
    });
    const form = page.locator('form#tap-policy');
    assert.equal(await form.getByLabel('Only these users and groups').isChecked(), true);
    assert.equal(await form.locator('.chosen').getByRole('checkbox', { name: new RegExp(GROUP.name) }).isChecked(), true,
      'the group is not shown as included');
    admin.log.assertClean('the groups and policy pages');
    onramp.assertRunning();
    done.add('groups');
  });

  it('registers a relying party and shows its secret on a phone', { timeout: TEST_TIMEOUT_MS }, async () => {
    needs('admin');
    const focused = (page) => page.evaluate(() => document.activeElement.id);
    const { page } = admin;
    await page.setViewportSize(PHONE);
    await step('the clients section', async () => {
      await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Clients' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/clients');
      await page.getByRole('heading', { name: 'Clients (relying parties)' }).waitFor();
      // The portal's pages put the first focus on their content, after the navigation.
      assert.equal(await focused(page), 'main');
      await assertFits(page, 'the clients page');
    });
    await step('a registration refused', async () => {
      const form = page.locator('form#register-client');
      await form.getByLabel('Name').fill('Payroll');
      await form.getByLabel(/^Redirect URIs/).fill('ftp://payroll.example.com/callback');
      await form.getByRole('button', { name: 'Register' }).click();
      // Refused beside its field (portal/form.rs), the form as typed.
      await page.locator('#redirect_uris-error').waitFor();
      assert.equal(await focused(page), 'main');
      const refused = admin.log.httpErrors.filter((l) => / POST .*\/admin\/clients$/.test(l));
      assert.equal(refused.length, 1, `expected one refused registration: ${admin.log.httpErrors}`);
      admin.log.httpErrors = admin.log.httpErrors.filter((l) => !refused.includes(l));
      await page.goto(`${onramp.base}/admin/clients`);
    });
    await step('register a client', async () => {
      const form = page.locator('form#register-client');
      await form.getByLabel('Name').fill('Payroll');
      await form.getByLabel(/^Redirect URIs/).fill('https://payroll.example.com/oidc/callback');
      await form.getByRole('button', { name: 'Register' }).click();
      await page.getByRole('heading', { name: 'Client registered' }).waitFor();
    });
    const secret = (await page.locator('code#client-secret').innerText()).trim();
    assert.ok(secret.length >= 32, `the secret shown: ${secret}`);
    await shot(page, 'client-created');
    await assertFits(page, 'the client registered page');
    await assertOnScreen(page, page.locator('code#client-secret'), 'the secret');
    const copy = page.getByRole('button', { name: 'Copy secret' });
    await assertOnScreen(page, copy, '"Copy secret"');
    await step('copy the secret', async () => {
      await page.bringToFront();
      await copy.click();
      await page.getByRole('button', { name: 'Copied' }).waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    });
    await step('the client is listed', async () => {
      await page.getByRole('link', { name: 'Back to clients' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/clients');
      const rows = await tableRows(page, 'main');
      assert.ok(rows.some((r) => r[0] === 'Payroll' && r[5] === 'https://payroll.example.com/oidc/callback'),
        `the new client is not listed: ${JSON.stringify(rows)}`);
      await assertFits(page, 'the clients page with the new client');
    });
    await step("a deletion's confirmation", async () => {
      await page.locator('tr', { hasText: 'Payroll' }).getByRole('link', { name: 'Delete…' }).click();
      await page.getByRole('button', { name: /Delete/ }).waitFor();
      // Not on the destructive button: the warning comes first.
      assert.equal(await focused(page), 'main');
      await assertFits(page, 'the confirmation page');
      await page.getByRole('link', { name: 'Cancel' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/clients');
    });
    await step('no administrator role', async () => {
      // The new user is still signed in to Onramp, with no role; having
      // deleted their passkey, they are asked for a new one first.
      await person.page.goto(`${onramp.base}/admin`);
      await person.page.getByRole('button', { name: 'Create passkey' }).click();
      await person.page.getByRole('heading', { name: "You're all set" }).waitFor();
      await person.page.getByRole('link', { name: /^Continue to / }).click();
      await person.page.getByRole('heading', { name: 'No administrator role' }).waitFor();
      assert.equal(await focused(person.page), 'main');
    });
    admin.log.assertClean('the clients pages');
    onramp.assertRunning();
    done.add('clients');
  });

  it('explains a refused onboarding policy beside its field and saves a good one', { timeout: TEST_TIMEOUT_MS }, async () => {
    needs('groups');
    const { page } = admin;
    const form = page.locator('form#onboarding-policy');
    const zone = form.getByLabel('Time zone (IANA name, such as Europe/Berlin)');
    await step('from the policies page', async () => {
      await page.getByRole('navigation', { name: 'Admin sections' }).getByRole('link', { name: 'Policies' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/policy');
      await page.getByRole('link', { name: 'Passes for the hire date' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/policy/onboarding');
      await page.getByRole('heading', { name: 'Passes for the hire date', level: 1 }).waitFor();
      const nav = page.getByRole('navigation', { name: 'Admin sections' });
      assert.equal(await nav.getByRole('link', { name: 'Policies' }).getAttribute('aria-current'), 'page');
    });

    await step('an unknown time zone', async () => {
      await form.getByLabel('Enabled').check();
      await form.getByLabel('Valid from (local time on the hire date)').fill('09:30');
      await zone.fill('Europe/Atlantis');
      await form.getByRole('button', { name: 'Save onboarding policy' }).click();
      await page.locator('#time_zone-error').waitFor();
    });
    assert.match(await page.locator('#time_zone-error').innerText(), /Europe\/Atlantis/);
    assert.equal(await zone.getAttribute('aria-invalid'), 'true');
    assert.equal(await zone.getAttribute('aria-describedby'), 'time_zone-error');
    assert.equal(await zone.inputValue(), 'Europe/Atlantis', 'the value as typed');
    assert.equal(await form.getByLabel('Valid from (local time on the hire date)').inputValue(), '09:30');
    await assertFits(page, 'the onboarding page with an error');
    await shot(page, 'onboarding-error');

    await step('e-mail without a mail server', async () => {
      await zone.fill('Europe/Berlin');
      await form.getByRole('button', { name: 'Save onboarding policy' }).click();
      await page.locator('#email-error').waitFor();
    });
    assert.match(await page.locator('#email-error').innerText(), /\[smtp\]/);
    assert.equal(await page.locator('#time_zone-error').count(), 0, 'the fixed field has no error left');

    await step('saved while disabled', async () => {
      await form.getByLabel('Enabled').uncheck();
      await form.getByLabel('Issued this many days before the hire date (0–30)').fill('3');
      await form.getByRole('button', { name: 'Save onboarding policy' }).click();
      await page.waitForURL((u) => u.pathname === '/admin/policy/onboarding' && u.searchParams.get('done') === 'saved');
      await page.getByRole('status').filter({ hasText: 'The onboarding policy was saved.' }).waitFor();
    });
    assert.equal(await form.getByLabel('Issued this many days before the hire date (0–30)').inputValue(), '3');
    assert.equal(await zone.inputValue(), 'Europe/Berlin');
    assert.equal(await form.getByLabel('Valid from (local time on the hire date)').inputValue(), '09:30');
    // The two refusals were 400s, as they should be; nothing else failed.
    const refused = `HTTP 400 POST ${onramp.base}/admin/policy/onboarding`;
    assert.deepEqual(admin.log.httpErrors, [refused, refused]);
    admin.log.httpErrors.length = 0;
    admin.log.assertClean('the onboarding page');
    onramp.assertRunning();
    done.add('onboarding');
  });
});
