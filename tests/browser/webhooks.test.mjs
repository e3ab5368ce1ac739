// Webhooks in a real flow: an HR system subscribes, a new hire signs in
// with a Temporary Access Pass in headless Chromium and enrolls a passkey
// (CDP virtual authenticator); a node:http receiver checks every delivery
// with the `standardwebhooks` npm package (an implementation independent
// of Onramp's) and `tap.used`, `passkey.registered` and
// `onboarding.completed` arrive once each, signed, about that user.
//
// Run with tests/browser/run.sh (or `node --test webhooks.test.mjs` here).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { Webhook } from 'standardwebhooks';
import {
  Onramp, PageLog, TEST_TIMEOUT_MS, addVirtualAuthenticator, assertSetup, expectStatus, freePort,
  launchChromium, newContext, request, sleep, stepper,
} from './harness.mjs';

const HR = { id: 'hr-hooks', secret: 'hr-hooks-secret-0123456789' };

/** Receives deliveries; keeps those that verify and those that do not. */
class Receiver {
  constructor() {
    this.verified = [];
    this.refused = [];
    this.secret = null;
    this.server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        try {
          // Throws unless the signature and the timestamp (5 min) hold.
          const event = new Webhook(this.secret).verify(body, req.headers);
          this.verified.push({ id: req.headers['webhook-id'], event });
          res.writeHead(204).end();
        } catch (e) {
          this.refused.push({ headers: req.headers, body, error: e.message });
          res.writeHead(400).end();
        }
      });
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.server.address().port}/onramp`;
  }

  ofType(type) {
    return this.verified.filter((d) => d.event.type === type);
  }

  async waitFor(types, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!types.every((t) => this.ofType(t).length > 0)) {
      assert.ok(Date.now() < deadline,
        `waited for ${types.join(', ')}; got ${JSON.stringify(this.verified.map((d) => d.event.type))}, refused ${JSON.stringify(this.refused)}`);
      await sleep(50);
    }
  }

  stop() {
    this.server.closeAllConnections?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('webhooks through a TAP sign-in and passkey enrollment', { timeout: 3 * TEST_TIMEOUT_MS }, () => {
  let tmp;
  let onramp;
  let unguard;
  let browser;
  let context;
  let page;
  let receiver;
  const log = new PageLog();

  before(async () => {
    assertSetup();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onramp-webhooks-'));
    receiver = new Receiver();
    await receiver.start();
    onramp = new Onramp({
      port: await freePort(),
      dir: tmp,
      extraConfig: `
[webhooks]
poll_ms = 50

[[clients]]
id = "${HR.id}"
secret = "${HR.secret}"
grant_types = ["client_credentials"]
permissions = ["User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All", "Webhook.ReadWrite.All"]
`,
    });
    unguard = onramp.killOnExit();
    await onramp.start();
    browser = await launchChromium(chromium);
    context = await newContext(browser);
    await log.watchContext(context);
    page = await context.newPage();
    log.watchPage(page);
    await addVirtualAuthenticator(context, page);
  }, { timeout: TEST_TIMEOUT_MS });

  after(async () => {
    await browser?.close().catch(() => {});
    await onramp?.stop().catch(() => {});
    await receiver?.stop().catch(() => {});
    unguard?.();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }, { timeout: TEST_TIMEOUT_MS });

  const step = stepper({ pages: () => ({ '': page }), logs: () => [log], onramp: () => onramp });

  it('delivers tap.used, passkey.registered and onboarding.completed once each, signed', { timeout: 2 * TEST_TIMEOUT_MS }, async () => {
    const token = await onramp.adminToken(HR);
    const sub = await request(`${onramp.base}/api/v1/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        url: receiver.url,
        events: ['tap.used', 'passkey.registered', 'onboarding.completed'],
        description: 'HR onboarding tracker',
      }),
    });
    expectStatus(sub, 201, 'POST /api/v1/webhooks');
    assert.match(sub.json.secret, /^whsec_[A-Za-z0-9+/]+=*$/);
    receiver.secret = sub.json.secret;

    const upn = 'hooked@example.com';
    const user = await onramp.createUser(token, { userPrincipalName: upn, displayName: 'Hooked Hire' });
    const tap = await onramp.createTap(token, user.id);

    await step('sign in with the pass', async () => {
      await page.goto(`${onramp.base}/signin?login_hint=${encodeURIComponent(upn)}`);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.getByRole('button', { name: 'Next' }).click();
      await page.getByRole('heading', { name: 'Enter your Temporary Access Pass' }).waitFor();
      await page.getByLabel('Temporary Access Pass').fill(tap);
      await page.getByRole('button', { name: 'Sign in' }).click();
    });
    await step('enroll a passkey', async () => {
      await page.waitForURL((u) => u.pathname === '/enroll');
      await page.getByRole('button', { name: 'Create passkey' }).click();
      // A first passkey, signed in for no application: all set, then security info.
      await page.getByRole('heading', { name: "You're all set" }).waitFor();
      await page.getByRole('link', { name: 'Go to your security info' }).click();
      await page.waitForURL((u) => u.pathname === '/account/security');
    });

    const types = ['tap.used', 'passkey.registered', 'onboarding.completed'];
    await receiver.waitFor(types);
    // Let the workers poll some more: nothing may come twice.
    await sleep(500);
    assert.deepEqual(receiver.refused, [], 'every delivery verifies');
    for (const type of types) {
      const got = receiver.ofType(type);
      assert.equal(got.length, 1, `${type} once: ${JSON.stringify(got)}`);
      const { event, id } = got[0];
      assert.match(id, /^msg_/);
      assert.equal(event.data.user.id, user.id, type);
      assert.equal(event.data.user.userPrincipalName, upn, type);
      assert.ok(!Number.isNaN(Date.parse(event.timestamp)), `timestamp ${event.timestamp}`);
      assert.ok(!JSON.stringify(event).includes(tap), `${type} carries no pass`);
    }
    assert.equal(new Set(receiver.verified.map((d) => d.id)).size, receiver.verified.length, 'distinct webhook-ids');
    // Only what was subscribed to: no user.created, no tap.created.
    assert.deepEqual([...new Set(receiver.verified.map((d) => d.event.type))].sort(), [...types].sort());
    // A tampered body does not verify with the same library (the check bites).
    const good = receiver.ofType('tap.used')[0];
    assert.throws(() => new Webhook(receiver.secret).verify(JSON.stringify({ ...good.event, type: 'x' }), {
      'webhook-id': good.id, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA',
    }));
    log.assertClean('the sign-in pages');
    onramp.assertRunning();
  });
});
