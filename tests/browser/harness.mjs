// Shared harness of the real-browser tests (e2e.test.mjs, portal.test.mjs,
// and ../rp-node/rp.test.mjs): the onramp server under test, headless
// Chromium with a CDP virtual authenticator, a recorder of what each page
// logged, and failure messages that tell what the page showed and what the
// server printed.
//
// It imports no npm package: ../rp-node has its own node_modules, and a
// package import here would resolve from this folder's. The callers pass
// playwright-core's `chromium` to launchChromium.
//
// ONRAMP_BIN: the onramp binary (default ../../target/debug/onramp).
// CHROMIUM: the browser (default /usr/bin/chromium; never downloaded).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// A relative ONRAMP_BIN is taken from the working directory (run.sh makes it absolute).
export const ONRAMP_BIN = process.env.ONRAMP_BIN
  ? path.resolve(process.env.ONRAMP_BIN)
  : path.resolve(HERE, '../../target/debug/onramp');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = path.join(HERE, 'screenshots');

export const TEST_TIMEOUT_MS = 60_000;
export const STEP_TIMEOUT_MS = 15_000;

// ---------------------------------------------------------------- helpers

export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export function basic({ id, secret }) {
  const enc = (s) => encodeURIComponent(s);
  return 'Basic ' + Buffer.from(`${enc(id)}:${enc(secret)}`).toString('base64');
}

/** fetch that returns {status, headers, text, json} and never throws on HTTP errors. */
export async function request(url, init = {}) {
  const res = await fetch(url, { redirect: 'manual', ...init, signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

export function expectStatus(res, status, what) {
  assert.equal(res.status, status, `${what}: expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
}

/**
 * Fails loudly, never skips: a missing binary or browser is a broken setup.
 * Makes the `screenshots` folder.
 */
export function assertSetup({ screenshots = SCREENSHOTS } = {}) {
  assert.ok(fs.existsSync(ONRAMP_BIN),
    `onramp binary not found at ${ONRAMP_BIN}: run \`cargo build --bin onramp\` or set ONRAMP_BIN`);
  assert.ok(fs.existsSync(CHROMIUM),
    `Chromium not found at ${CHROMIUM}: install Debian's chromium package or set CHROMIUM`);
  fs.mkdirSync(screenshots, { recursive: true });
}

// ---------------------------------------------------------------- the server

/**
 * The onramp server under test, with a throwaway config (embedded store in
 * `dir`) and `extraConfig` (TOML, e.g. [[clients]]) appended.
 */
export class Onramp {
  constructor({ port, dir, extraConfig = '' }) {
    this.port = port;
    this.base = `http://localhost:${port}`;
    this.dir = dir;
    this.output = '';
    this.configPath = path.join(dir, 'onramp.toml');
    // stdout is a pipe, not a terminal: the first start's pass goes to this
    // owner-only file (README "Run").
    this.passFile = path.join(dir, 'bootstrap-pass.txt');
    fs.writeFileSync(this.configPath, `
[server]
listen = "127.0.0.1:${port}"
issuer = "${this.base}"
workers = 2

[store]
url = "embedded:${path.join(dir, 'onramp.redb')}"

[bootstrap]
pass_file = "${this.passFile}"

[log]
level = "warn"
${extraConfig}`);
  }

  async start() {
    // ONRAMP_* variables override the config file (and unknown ones such as
    // ONRAMP_BIN are refused), so the server gets none of them.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ONRAMP_')));
    this.proc = spawn(ONRAMP_BIN, ['--config', this.configPath, 'serve'], {
      cwd: this.dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk) => {
      this.output += chunk.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    this.proc.stdout.on('data', keep);
    this.proc.stderr.on('data', keep);
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.exitStatus = null;
    this.exited.then((s) => { this.exitStatus = s; });

    const deadline = Date.now() + 30_000;
    for (;;) {
      if (this.exitStatus) {
        throw new Error(`onramp exited before it was healthy (${JSON.stringify(this.exitStatus)}):\n${this.output}`);
      }
      try {
        const res = await fetch(`${this.base}/healthz`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) throw new Error(`onramp was not healthy within 30 s:\n${this.output}`);
      await sleep(100);
    }
  }

  /**
   * The bootstrap administrator's pass, as `serve` writes it on the first
   * start when stdout is not a terminal (README "Run"): read from the
   * owner-only pass file, never from the output. {upn, passcode, signInUrl}.
   */
  bootstrapPass() {
    assert.ok(fs.existsSync(this.passFile), `onramp wrote no first-start pass file ${this.passFile}:\n${this.output}`);
    const stat = fs.lstatSync(this.passFile);
    assert.ok(stat.isFile(), `${this.passFile} is not a regular file`);
    assert.equal(stat.mode & 0o777, 0o600, `${this.passFile} must be readable by its owner only`);
    const block = fs.readFileSync(this.passFile, 'utf8');
    assert.ok(block.includes('First start:'), `not a first-start pass:\n${block}`);
    const field = (name) => block.match(new RegExp(`^\\s*${name}:\\s+(\\S+)\\s*$`, 'm'))?.[1];
    const pass = { upn: field('user'), passcode: field('pass'), signInUrl: field('sign in at') };
    for (const [k, v] of Object.entries(pass)) {
      assert.ok(v, `no ${k} in the pass file:\n${block}`);
    }
    assert.ok(!this.output.includes(pass.passcode), `the pass is in onramp's output:\n${this.output}`);
    return pass;
  }

  assertRunning() {
    assert.equal(this.exitStatus, null, `onramp died: ${JSON.stringify(this.exitStatus)}\n${this.output}`);
  }

  async stop() {
    if (!this.proc || this.exitStatus) return;
    this.proc.kill('SIGTERM');
    let timer;
    const res = await Promise.race([
      this.exited,
      new Promise((resolve) => { timer = setTimeout(() => resolve(null), 15_000); }),
    ]);
    clearTimeout(timer);
    if (!res) {
      this.proc.kill('SIGKILL');
      await this.exited;
    }
  }

  killNow() {
    if (this.proc && !this.exitStatus) {
      try { this.proc.kill('SIGKILL'); } catch { /* already gone */ }
    }
  }

  /** Kills the server if the test process exits or is interrupted; returns the undo. */
  killOnExit() {
    const onExit = () => this.killNow();
    const onSignal = (signal) => {
      this.killNow();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.on('exit', onExit);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return () => {
      process.off('exit', onExit);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
  }

  // --- admin API, as an HR system with client credentials `admin` ({ id, secret })

  async adminToken(admin) {
    const res = await request(`${this.base}/token`, {
      method: 'POST',
      headers: { authorization: basic(admin), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expectStatus(res, 200, 'POST /token (client_credentials)');
    assert.equal(typeof res.json?.access_token, 'string', `no access_token: ${res.text}`);
    return res.json.access_token;
  }

  /** Creates a user (Graph's user JSON); returns the created user. */
  async createUser(token, user) {
    const res = await request(`${this.base}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(user),
    });
    expectStatus(res, 201, 'POST /api/v1/users');
    assert.equal(typeof res.json?.id, 'string', `no user id: ${res.text}`);
    return res.json;
  }

  /** Issues a pass with the policy defaults; returns the passcode. */
  async createTap(token, userId) {
    const res = await request(
      `${this.base}/api/v1/users/${encodeURIComponent(userId)}/authentication/temporaryAccessPassMethods`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      },
    );
    expectStatus(res, 201, 'POST .../temporaryAccessPassMethods');
    assert.equal(typeof res.json?.temporaryAccessPass, 'string', `no temporaryAccessPass: ${res.text}`);
    return res.json.temporaryAccessPass;
  }
}

// ---------------------------------------------------------------- the browser

/**
 * Debian's headless Chromium, kept off the network but for localhost.
 * `chromium`: playwright-core's, from the caller's node_modules.
 */
export function launchChromium(chromium) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, EXCLUDE 127.0.0.1',
    ],
  });
}

/** A browser context (one person's browser profile) with the step timeouts. */
export async function newContext(browser, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', ...options });
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  context.setDefaultNavigationTimeout(STEP_TIMEOUT_MS);
  return context;
}

/**
 * Records what pages log: console messages, script errors, Content Security
 * Policy violations and error answers (but for /favicon.ico, which there is
 * none of). Call `watchContext` before the context's pages are opened (for
 * the CSP recorder), then `watchPage` for each page.
 */
export class PageLog {
  constructor(label = '') {
    this.prefix = label ? `[${label}] ` : '';
    this.lines = [];
    this.pageErrors = [];
    this.httpErrors = [];
    this.cspViolations = [];
  }

  push(line) {
    this.lines.push(this.prefix + line);
  }

  async watchContext(context) {
    await context.exposeFunction('__onrampRecordCsp', (v) => {
      this.cspViolations.push(v);
      this.push(`CSP violation: ${v}`);
    });
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        const what = `${e.violatedDirective} blocked ${e.blockedURI || '(inline)'} on ${e.documentURI}` +
          (e.sourceFile ? ` (${e.sourceFile}:${e.lineNumber})` : '');
        window.__onrampRecordCsp?.(what)?.catch?.(() => {});
      });
    });
  }

  watchPage(page) {
    page.on('console', (msg) => this.push(`console.${msg.type()}: ${msg.text()} (${msg.location().url || 'inline'})`));
    page.on('pageerror', (err) => {
      this.pageErrors.push(err);
      this.push(`pageerror: ${err.stack || err}`);
    });
    page.on('response', (res) => {
      if (res.status() < 400) return;
      const line = `HTTP ${res.status()} ${res.request().method()} ${res.url()}`;
      this.push(line);
      if (new URL(res.url()).pathname !== '/favicon.ico') this.httpErrors.push(line);
    });
    page.on('requestfailed', (req) => {
      // Logged only: a request cut short by the page navigating away is no server fault.
      this.push(`request failed: ${req.method()} ${req.url()}: ${req.failure()?.errorText}`);
    });
  }

  /** No script error, CSP violation or error answer so far. */
  assertClean(what = 'the pages') {
    assert.equal(this.pageErrors.length, 0, `JavaScript errors on ${what}:\n${this.pageErrors.join('\n')}`);
    assert.deepEqual(this.cspViolations, [], `Content Security Policy violations on ${what}`);
    assert.deepEqual(this.httpErrors, [], `${what} got error answers`);
  }

  toString() {
    return this.lines.join('\n  ') || '(empty)';
  }
}

/**
 * A CTAP2 platform authenticator (resident keys, user verification, touched
 * at once) for one page, through the DevTools protocol.
 */
/**
 * Records each navigator.credentials.get() call of the context's pages in
 * `calls` ({ id, mediation, state }), to see which request (conditional or
 * modal) signed the user in.
 */
export async function recordWebAuthnGets(context, calls) {
  await context.exposeFunction('__onrampRecordGet', (id, mediation, state) => {
    const known = calls.find((c) => c.id === id);
    if (known) known.state = state;
    else calls.push({ id, mediation, state });
  });
  await context.addInitScript(() => {
    const creds = navigator.credentials;
    if (!creds?.get) return;
    const get = creds.get.bind(creds);
    const record = (...args) => { window.__onrampRecordGet?.(...args)?.catch?.(() => {}); };
    creds.get = (options) => {
      const id = crypto.randomUUID();
      const mediation = options?.mediation ?? 'optional';
      record(id, mediation, 'pending');
      const p = get(options);
      p.then(() => record(id, mediation, 'resolved'), (e) => record(id, mediation, `rejected ${e?.name}`));
      return p;
    };
  });
}

export async function addVirtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    authenticatorId,
    credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
  };
}

/**
 * Runs one step of a test; a failure says what the pages showed (their
 * <main>, or the whole body where there is none), what they logged and what
 * the server printed. `pages()` gives {label: page}. With `screenshots` (a
 * folder), a failure also saves a screenshot of each page there.
 */
export function stepper({ pages, logs, onramp, screenshots }) {
  return async function step(what, fn) {
    try {
      return await fn();
    } catch (e) {
      let shown = '';
      for (const [label, page] of Object.entries(pages())) {
        if (!page) continue;
        try {
          const main = page.locator('main');
          const shownPart = (await main.count()) ? main : page.locator('body');
          const text = (await shownPart.innerText({ timeout: 2000 })).trim();
          shown += `\n${label ? `${label}'s ` : ''}page ${page.url()}:\n${text}`;
          if (screenshots) {
            fs.mkdirSync(screenshots, { recursive: true });
            const name = `${label ? `${label}-` : ''}${what}`.replace(/[^a-z0-9]+/gi, '-');
            const file = path.join(screenshots, `${name}.png`);
            await page.screenshot({ path: file, fullPage: true, timeout: 5000 });
            shown += `\n(screenshot: ${file})`;
          }
        } catch { /* no page */ }
      }
      const logText = logs().map((l) => `browser log${l.prefix ? ` ${l.prefix.trim()}` : ''}:\n  ${l}`).join('\n');
      e.message = `${what}: ${e.message}${shown}\n${logText}` +
        `\nonramp output:\n${onramp()?.output.trim() || '(empty)'}`;
      throw e;
    }
  };
}
