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
//
// Accessibility, on every page state, for every test file that uses
// launchChromium (nothing to call by hand): each context of that browser
// (newContext here, or the browser's own newContext and newPage) has its
// pages send a copy of their DOM (scripts taken out) when they load, and
// again when an element is shown or hidden (an error appearing, a section
// opening); `a11yCheckpoint(page, why)` sends one at any other moment. A
// checker page of its own, in a context of its own, renders each copy with
// the real style sheet and runs axe-core (tests/browser/node_modules, so
// ../rp-node needs `npm ci` here too) at 1280x800 and 390x844, light and
// dark, and at 390 px also looks for anything wider than the window and
// for words broken mid-word (ids and secrets in <code> may break). The
// test's own pages are never resized or recoloured, so the check cannot
// disturb a test, and it runs beside it. Every violation of impact serious or
// critical, every overflow and broken word, fails the test file at its end (a root
// `after` hook), as a list of URL, variant, rule and target selectors.
// Pages that are not HTML (a relying party's plain-text callback) are skipped.
// A variant with findings is saved as screenshots/a11y-<test file>-<n>-<variant>.png;
// A11Y_SCREENSHOTS=1 saves every state and variant that way, to look at them.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after } from 'node:test';
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
export async function launchChromium(chromium) {
  const browser = await chromium.launch({
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
  // Every context is watched for the accessibility check (browser.newPage
  // makes its context through newContext too); the checker's own is not.
  const rawNewContext = browser.newContext.bind(browser);
  a11y.rawNewContext.set(browser, rawNewContext);
  browser.newContext = async (...args) => {
    const context = await rawNewContext(...args);
    await a11y.watchContext(browser, context);
    return context;
  };
  // The accessibility checks still queued run in this browser: finish them first.
  const close = browser.close.bind(browser);
  browser.close = async (...args) => {
    await a11y.drain(browser);
    return close(...args);
  };
  return browser;
}

/**
 * A browser context (one person's browser profile) with the step timeouts;
 * in a browser from launchChromium its pages' states are checked for
 * accessibility (see the top of this file).
 */
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

// ---------------------------------------------------------------- accessibility

const AXE_FILE = path.join(HERE, 'node_modules', 'axe-core', 'axe.min.js');
const PHONE_WIDTH = 390;
/** The four ways each page state is looked at. */
export const A11Y_VARIANTS = [
  { name: 'desktop light', viewport: { width: 1280, height: 800 }, colorScheme: 'light' },
  { name: 'desktop dark', viewport: { width: 1280, height: 800 }, colorScheme: 'dark' },
  { name: `${PHONE_WIDTH} px light`, viewport: { width: PHONE_WIDTH, height: 844 }, colorScheme: 'light' },
  { name: `${PHONE_WIDTH} px dark`, viewport: { width: PHONE_WIDTH, height: 844 }, colorScheme: 'dark' },
];
const A11Y_IMPACTS = ['serious', 'critical'];
// node --test runs each test file in a process of its own: its name keeps their screenshots apart.
const A11Y_FILE = path.basename(process.argv[1] ?? 'test').replace(/(\.test)?\.m?js$/, '');

/**
 * In each page of a watched context: sends a copy of the DOM, without its
 * scripts and per-request tokens, when the page loads and when an element is
 * shown, hidden, disabled or changes role (once for all the changes of one
 * task: the observer's callback gets them together).
 */
function a11yPageScript() {
  const send = (why) => {
    if (document.contentType !== 'text/html' || !/^https?:$/.test(location.protocol) || !document.body) return undefined;
    const root = document.documentElement.cloneNode(true);
    for (const s of root.querySelectorAll('script')) s.remove();
    for (const i of root.querySelectorAll('input[type=hidden]')) i.removeAttribute('value');
    root.querySelector('meta[name=csrf-token]')?.removeAttribute('content');
    const html = `<!doctype html>\n${root.outerHTML}`;
    return window.__onrampA11ySnapshot?.({ url: location.href, why, html });
  };
  Object.defineProperty(window, '__onrampA11ySend', { value: send });
  const changed = () => { send('after a change')?.catch?.(() => {}); };
  window.addEventListener('load', () => {
    send('load')?.catch?.(() => {});
    new MutationObserver(changed).observe(document.documentElement,
      { subtree: true, attributes: true, attributeFilter: ['hidden', 'open', 'disabled', 'role'] });
  });
}

/** In the checker page: axe-core's serious and critical violations. */
async function a11yAxe(impacts) {
  const { violations } = await axe.run(document, { resultTypes: ['violations'] });
  return violations.flatMap((v) => {
    const nodes = v.nodes.filter((n) => impacts.includes(n.impact ?? v.impact));
    return nodes.length ? [{ rule: v.id, impact: v.impact, help: v.help, targets: nodes.map((n) => n.target.join(' ')) }] : [];
  });
}

/**
 * In the checker page, at a phone's width: what reaches past the right edge
 * of the window, outermost elements only (an element inside a container
 * that scrolls or clips sideways is that container's business, and the
 * container is checked itself); and words broken across lines mid-word:
 * where `overflow-wrap` or `word-break` lets the browser break a word
 * anywhere (elsewhere it breaks only where a line may break), a run of
 * letters between spaces, hyphens and slashes on two lines. <code> (ids,
 * secrets, passcodes) may break anywhere.
 */
function a11yLayout() {
  const width = window.innerWidth;
  const found = [];
  const scrollWidth = document.scrollingElement.scrollWidth;
  if (scrollWidth > width) found.push(`overflow: the page is ${scrollWidth} px wide`);
  const describe = (el) => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      if (e.id) { parts.unshift(`${e.localName}#${e.id}`); break; }
      parts.unshift(e.localName + [...e.classList].map((c) => `.${c}`).join(''));
    }
    const text = el.textContent.trim().replace(/\s+/g, ' ').slice(0, 40);
    return `${parts.join(' > ')}${text ? ` ("${text}")` : ''}`;
  };
  const inScroller = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') return true;
    }
    return false;
  };
  const reported = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width <= 1 || r.right <= width + 0.5) continue;
    if (reported.some((o) => o.contains(el)) || inScroller(el)) continue;
    reported.push(el);
    found.push(`overflow: ${describe(el)} reaches ${Math.round(r.right)} px`);
  }
  const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  for (let node = texts.nextNode(); node; node = texts.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('code, pre, kbd, samp, script, style, .sr, noscript')) continue;
    const style = getComputedStyle(el);
    if (style.overflowWrap === 'normal' && !['break-all', 'break-word'].includes(style.wordBreak)) continue;
    for (const m of node.data.matchAll(/[^\s\-/]+[-/]*/g)) {
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
      if (lines.size > 1) found.push(`word broken: "${m[0]}" in ${describe(el)}`);
    }
  }
  return found;
}

/** Checks the page states of watched contexts; one per test process (`a11y`). */
class A11yChecker {
  constructor() {
    this.browsers = new Map(); // browser -> { chain, context, page, html, seen }
    this.findings = [];
    this.states = 0;
    this.ms = 0; // time spent checking
    this.rawNewContext = new Map(); // browser -> its newContext, unwatched
  }

  async watchContext(browser, context) {
    let entry = this.browsers.get(browser);
    if (!entry) {
      entry = { chain: Promise.resolve(), context: null, page: null, html: '', seen: new Set(), statics: new Map() };
      this.browsers.set(browser, entry);
    }
    await context.exposeBinding('__onrampA11ySnapshot', (_source, snap) => { this.enqueue(browser, entry, snap); });
    await context.addInitScript(a11yPageScript);
  }

  enqueue(browser, entry, snap) {
    if (entry.seen.has(snap.html)) return;
    entry.seen.add(snap.html);
    entry.chain = entry.chain.then(() => this.check(browser, entry, snap)).catch((e) => {
      this.findings.push(`${snap.url} (${snap.why}): the check failed: ${e.message.split('\n')[0]}`);
    });
  }

  /** The checker page: serves each copy at its own URL, style sheets from the server (cached). */
  async checkerPage(browser, entry) {
    if (entry.page) return entry.page;
    assert.ok(fs.existsSync(AXE_FILE), `axe-core not found at ${AXE_FILE}: run \`npm ci\` in ${HERE}`);
    entry.axe = fs.readFileSync(AXE_FILE, 'utf8');
    entry.context = await this.rawNewContext.get(browser)({ viewport: A11Y_VARIANTS[0].viewport, locale: 'en-US', bypassCSP: true });
    entry.context.setDefaultTimeout(STEP_TIMEOUT_MS);
    entry.page = await entry.context.newPage();
    await entry.page.route('**/*', async (route) => {
      const req = route.request();
      if (req.isNavigationRequest()) {
        return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: entry.html });
      }
      if (req.method() !== 'GET' || !new URL(req.url()).pathname.startsWith('/static/')) return route.abort();
      let cached = entry.statics.get(req.url());
      if (!cached) {
        const res = await route.fetch();
        cached = { status: res.status(), headers: res.headers(), body: await res.body() };
        entry.statics.set(req.url(), cached);
      }
      return route.fulfill(cached);
    });
    return entry.page;
  }

  async check(browser, entry, snap) {
    const started = Date.now();
    try {
      await this.checkVariants(browser, entry, snap);
    } finally {
      this.ms += Date.now() - started;
    }
  }

  async checkVariants(browser, entry, snap) {
    const page = await this.checkerPage(browser, entry);
    const url = new URL(snap.url);
    url.hash = '';
    entry.html = snap.html;
    await page.goto(url.href, { waitUntil: 'load' });
    await page.addScriptTag({ content: entry.axe });
    this.states += 1;
    const where = `${snap.url} (${snap.why})`;
    for (const v of A11Y_VARIANTS) {
      await page.setViewportSize(v.viewport);
      await page.emulateMedia({ colorScheme: v.colorScheme });
      const found = [];
      for (const f of await page.evaluate(a11yAxe, A11Y_IMPACTS)) {
        found.push(`${where} [${v.name}] ${f.rule} (${f.impact}): ${f.help}\n      at ${f.targets.join('\n      at ')}`);
      }
      if (v.viewport.width === PHONE_WIDTH) {
        for (const f of await page.evaluate(a11yLayout)) found.push(`${where} [${v.name}] ${f}`);
      }
      if (found.length || process.env.A11Y_SCREENSHOTS === '1') {
        fs.mkdirSync(SCREENSHOTS, { recursive: true });
        const name = `a11y-${A11Y_FILE}-${this.states}-${v.name.replace(/\W+/g, '-')}.png`;
        const file = path.join(SCREENSHOTS, name);
        await page.screenshot({ path: file, fullPage: true });
        if (found.length) found.push(`${where} [${v.name}] (screenshot: ${file})`);
      }
      this.findings.push(...found);
    }
  }

  /** Waits until the browser's queued checks (and those they queued meanwhile) are done. */
  async settle(browser) {
    const entry = this.browsers.get(browser);
    for (let chain; entry && chain !== entry.chain;) {
      chain = entry.chain;
      await chain;
    }
  }

  /** Before the browser closes: its queued checks, then its checker context. */
  async drain(browser) {
    await this.settle(browser);
    const entry = this.browsers.get(browser);
    this.browsers.delete(browser);
    this.rawNewContext.delete(browser);
    await entry?.context?.close().catch(() => {});
  }

  /** Waits for every queued check; returns the findings so far and forgets them. */
  async takeFindings() {
    for (const browser of [...this.browsers.keys()]) await this.settle(browser);
    return this.findings.splice(0);
  }
}

export const a11y = new A11yChecker();

/**
 * Checks the page as it is now (a dialog opened, an error shown) beside
 * the automatic checks at each load and change.
 */
export async function a11yCheckpoint(page, why) {
  await page.evaluate((w) => window.__onrampA11ySend?.(w), why);
}

// The test file fails at its end when any page state had a finding.
after(async () => {
  const findings = await a11y.takeFindings();
  if (a11y.states) {
    console.log(`accessibility: ${a11y.states} page states checked, ${A11Y_VARIANTS.length} ways each, ` +
      `in ${(a11y.ms / 1000).toFixed(1)} s (beside the tests)`);
  }
  if (findings.length) {
    const count = findings.filter((f) => !f.includes('] (screenshot: ')).length;
    assert.fail(`${count} accessibility and layout findings (axe-core impact serious or critical; ` +
      `overflow and words broken mid-word at ${PHONE_WIDTH} px):\n  ${findings.join('\n  ')}`);
  }
});
