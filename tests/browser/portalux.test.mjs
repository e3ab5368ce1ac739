// Real-browser test of the portal's everyday use (headless Chromium, a
// virtual authenticator), from the first start on:
//
//   1. A deep link into the portal (/admin/audit?actor=…) survives the
//      portal's sign-in: the bootstrap administrator signs in with the
//      printed pass, enrolls a passkey and lands on the page asked for.
//   2. The audit log filters by a user name typed into its form.
//   3. A form with a bad value shows the error beside the field in plain
//      words (aria-invalid, aria-describedby) and keeps what was typed.
//   4. The page of a new pass prints as the new hire's handout: only the
//      handout (who, when, where, the QR code, the pass), no portal chrome.
//
// Run with tests/browser/run.sh (or `node --test portalux.test.mjs` here).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  Onramp, PageLog, TEST_TIMEOUT_MS, addVirtualAuthenticator, assertSetup, freePort,
  launchChromium, newContext, stepper,
} from './harness.mjs';

describe('the admin portal in everyday use', { timeout: 4 * TEST_TIMEOUT_MS }, () => {
  let tmp;
  let onramp;
  let unguard;
  let browser;
  const admin = { log: new PageLog('admin') };
  const done = new Set();
  const TESTS = 4;

  before(async () => {
    assertSetup();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-portalux-'));
    onramp = new Onramp({ port: await freePort(), dir: tmp });
    unguard = onramp.killOnExit();
    await onramp.start();
    browser = await launchChromium(chromium);
    admin.context = await newContext(browser);
    await admin.log.watchContext(admin.context);
    admin.page = await admin.context.newPage();
    admin.log.watchPage(admin.page);
    admin.authenticator = await addVirtualAuthenticator(admin.context, admin.page);
  }, { timeout: TEST_TIMEOUT_MS });

  after(async () => {
    if (done.size < TESTS) console.log(`browser log [admin]:\n  ${admin.log}\nonramp output:\n${onramp?.output.trim()}`);
    try { await browser?.close(); } catch { /* closing anyway */ }
    try { await onramp?.stop(); } catch { /* stopping anyway */ }
    unguard?.();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, { timeout: TEST_TIMEOUT_MS });

  const step = stepper({
    pages: () => ({ admin: admin.page }),
    logs: () => [admin.log],
    onramp: () => onramp,
  });
  const needs = (name) => assert.ok(done.has(name), `needs what an earlier test (${name}) does, and that test failed`);

  it('keeps a deep link through the portal sign-in', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { upn, passcode } = await step('the first-start output', async () => onramp.bootstrapPass());
    const { page } = admin;
    await step('a deep link sends a stranger to sign in', async () => {
      await page.goto(`${onramp.base}/admin/audit?actor=admin%40localhost&type=tap.used`);
      await page.waitForURL((u) => u.pathname === '/authorize'); // the sign-in page, answered at once
      await page.getByLabel('User name').fill(upn);
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByLabel('Temporary Access Pass').fill(passcode);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.pathname === '/enroll');
      await page.getByRole('button', { name: 'Create passkey' }).click();
      // A first passkey ends on "all set", then goes on to the portal.
      await page.getByRole('heading', { name: "You're all set" }).waitFor();
      await page.getByRole('link', { name: /^Continue to / }).click();
    });
    await step('lands on the page asked for', async () => {
      await page.waitForURL((u) => u.pathname === '/admin/audit');
      const q = new URL(page.url()).searchParams;
      assert.equal(q.get('actor'), 'admin@localhost');
      assert.equal(q.get('type'), 'tap.used');
      await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    });
    done.add('signin');
  });

  it('filters the audit log by a user name', { timeout: TEST_TIMEOUT_MS }, async () => {
    needs('signin');
    const { page } = admin;
    await step('filter by target user name', async () => {
      const form = page.locator('form#audit-filter');
      await form.getByLabel('Actor').fill('');
      await form.getByLabel('Event').selectOption('passkey.registered');
      await form.getByLabel('Target').fill('ADMIN@localhost');
      await form.getByRole('button', { name: 'Filter' }).click();
      await page.waitForURL((u) => u.searchParams.get('target') === 'ADMIN@localhost');
    });
    const rows = await page.locator('table#audit tbody tr').evaluateAll(
      (trs) => trs.map((tr) => [...tr.cells].map((td) => td.textContent.trim())));
    assert.equal(rows.length, 1, `one passkey registered: ${JSON.stringify(rows)}`);
    const [, kind, outcome, actor, target] = rows[0];
    assert.deepEqual([kind, outcome, actor, target],
      ['passkey.registered', 'success', 'admin@localhost', 'user admin@localhost']);
    const exportLink = await page.locator('#audit-export').getAttribute('href');
    assert.equal(exportLink, '/admin/audit/export?type=passkey.registered&target=ADMIN%40localhost');
    await step('readable on a phone', async () => {
      const wide = page.viewportSize();
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        const { scroll, view } = await page.evaluate(
          () => ({ scroll: document.documentElement.scrollWidth, view: window.innerWidth }));
        assert.ok(scroll <= view, `the audit log is ${scroll} px wide in a ${view} px window`);
        // Stacked: each cell on a line of its own, under its column's name.
        const cell = page.locator('table#audit tbody tr td[data-label="Event"]').first();
        assert.equal(await cell.evaluate((td) => getComputedStyle(td).display), 'block');
        assert.equal(await cell.evaluate((td) => getComputedStyle(td, '::before').content), '"Event: "');
      } finally {
        await page.setViewportSize(wide);
      }
    });
    admin.log.assertClean('the audit log');
    done.add('audit');
  });

  it('shows a form error beside its field and keeps what was typed', { timeout: TEST_TIMEOUT_MS }, async () => {
    needs('signin');
    const { page } = admin;
    const form = page.locator('form#create-user');
    await step('a bad user name', async () => {
      await page.goto(`${onramp.base}/admin/users`);
      await form.getByLabel('User name').fill('grace hopper');
      await form.getByLabel('Display name').fill('Grace Hopper');
      await form.getByRole('button', { name: 'Create user' }).click();
      await page.locator('#upn-error').waitFor();
    });
    const upn = form.getByLabel('User name');
    assert.equal(await upn.getAttribute('aria-invalid'), 'true');
    assert.equal(await upn.getAttribute('aria-describedby'), 'upn-error');
    const said = await page.locator('#upn-error').innerText();
    assert.match(said, /^User name /, said);
    assert.ok(!said.includes('userPrincipalName'), `API words: ${said}`);
    assert.equal(await upn.inputValue(), 'grace hopper', 'what was typed');
    assert.equal(await form.getByLabel('Display name').inputValue(), 'Grace Hopper');
    // The refused form was answered 400 (the same page, with the error):
    // expected here, and the only error answer.
    assert.deepEqual(admin.log.httpErrors, [`HTTP 400 POST ${onramp.base}/admin/users`]);
    admin.log.httpErrors.length = 0;
    await step('fixed, it is created', async () => {
      await upn.fill('grace@example.com');
      await form.getByRole('button', { name: 'Create user' }).click();
      await page.getByRole('status').filter({ hasText: 'The user was created.' }).waitFor();
    });
    done.add('form');
  });

  it('prints the new pass as a handout', { timeout: TEST_TIMEOUT_MS }, async () => {
    needs('form');
    const { page } = admin;
    await step('a pass for Grace', async () => {
      await page.locator('form#create-tap').getByRole('button', { name: 'Create a Temporary Access Pass' }).click();
      await page.getByRole('heading', { name: 'Temporary Access Pass created' }).waitFor();
    });
    const print = page.getByRole('button', { name: 'Print the handout' });
    assert.ok(await print.isVisible(), 'the script shows the print button');
    await page.emulateMedia({ media: 'print' });
    try {
      for (const hidden of ['header.topbar', 'h1', 'button[data-print]', 'button[data-copy]']) {
        assert.equal(await page.locator(hidden).first().isVisible(), false, `${hidden} is printed`);
      }
      for (const shown of ['#handout-title', '#handout-upn', '#handout-start', '#handout-end', '#signin-link', '#passcode', 'img.qr']) {
        assert.ok(await page.locator(shown).isVisible(), `${shown} is not printed`);
      }
      assert.equal((await page.locator('#handout-title').innerText()).trim(), 'Welcome, Grace Hopper');
      assert.equal((await page.locator('#handout-upn').innerText()).trim(), 'grace@example.com');
      assert.match(await page.locator('#handout-start time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.match((await page.locator('#passcode').innerText()).trim(), /^[A-Z0-9]{8,48}$/);
      const { width, colour } = await page.locator('img.qr').evaluate((img) => ({
        width: img.getBoundingClientRect().width, colour: getComputedStyle(document.body).color }));
      assert.ok(width >= 150, `QR code printed ${width} px wide`);
      assert.equal(colour, 'rgb(0, 0, 0)', 'printed black on white');
    } finally {
      await page.emulateMedia({ media: 'screen' });
    }
    admin.log.assertClean('the portal pages');
    onramp.assertRunning();
    done.add('handout');
  });
});
