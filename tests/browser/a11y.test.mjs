// The accessibility check of harness.mjs, on pages made to fail it: it
// must find what axe-core calls serious or critical, in the variants where
// it happens, anything wider than a 390 px window and words broken mid-word there, on a page's load and
// after a change, and must let a correct page and a sideways-scrolling table
// through. No onramp here: a tiny server gives the pages. And a test file
// whose tests pass on such a page still fails, with the list.
//
// Run with tests/browser/run.sh (or `node --test a11y.test.mjs` here).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { TEST_TIMEOUT_MS, a11y, a11yCheckpoint, assertSetup, launchChromium, newContext } from './harness.mjs';

const STYLE = `
  :root { color-scheme: light dark; }
  body { margin: 0; font: 16px/1.5 sans-serif; color: #111; background: #fff; }
  .faint { color: #999; }
  @media (prefers-color-scheme: dark) { body { color: #eee; background: #111; } .faint { color: #666; } .dim { color: #333; } }
  @media (max-width: 600px) { .wide { width: 500px; } }
  .scroller { overflow-x: auto; }
  .scroller table { width: 800px; }
  .narrow { width: 150px; overflow-wrap: anywhere; }`;

const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title><style>${STYLE}</style></head>
<body><main><h1>${title}</h1>${body}</main></body></html>`;

const PAGES = {
  '/bad': page('Bad', `<p class="faint">Hard to read anywhere</p>
    <p class="dim">Hard to read in the dark</p>
    <div class="wide">Too wide for a phone</div>
    <p class="narrow">Antidisestablishmentarianism</p>
    <input type="text">`),
  '/good': page('Good', `<p>Plain words.</p>
    <p class="narrow"><code>0123456789abcdef0123456789</code> self-service-registration-window</p>
    <div class="scroller"><table><tr><th>Id</th><td>0123456789abcdef</td></tr></table></div>
    <p id="late" hidden><img src="/static/none.png"></p>
    <button type="button" id="show">Show</button>
    <script>document.getElementById('show').addEventListener('click', () => { document.getElementById('late').hidden = false; });</script>`),
  '/nameless': page('Nameless', '<button type="button"></button>'),
  '/plain': 'not a page',
};

describe('the accessibility check', { timeout: 2 * TEST_TIMEOUT_MS }, () => {
  let server;
  let base;
  let browser;

  before(async () => {
    assertSetup();
    server = http.createServer((req, res) => {
      const body = PAGES[new URL(req.url, 'http://x').pathname];
      if (body === undefined) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': req.url === '/plain' ? 'text/plain' : 'text/html; charset=utf-8' });
      res.end(body);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://localhost:${server.address().port}`;
    browser = await launchChromium(chromium);
  }, { timeout: TEST_TIMEOUT_MS });

  after(async () => {
    await browser?.close();
    server?.closeAllConnections?.();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('finds what is wrong in each variant, and only that', { timeout: TEST_TIMEOUT_MS }, async () => {
    const before = a11y.states;
    const context = await newContext(browser);
    const tab = await context.newPage();
    await tab.goto(`${base}/bad`);
    await tab.goto(`${base}/plain`);
    await tab.goto(`${base}/good`);
    await tab.getByRole('button', { name: 'Show' }).click(); // an image without alt appears
    await tab.getByRole('img').waitFor({ state: 'attached' });
    await tab.getByRole('button', { name: 'Show' }).focus();
    await a11yCheckpoint(tab, 'the same state again'); // nothing new: not checked twice
    // A page of the browser's own (its own context): checked too.
    const own = await browser.newPage();
    await own.goto(`${base}/nameless`);
    const findings = await a11y.takeFindings();
    const states = a11y.states - before;
    await context.close();
    await own.close();

    // Each variant with findings has a screenshot.
    const shots = findings.filter((f) => / \(screenshot: [^)]+\.png\)$/.test(f));
    assert.equal(shots.length, 12, `three pages with findings in four variants each:\n${shots.join('\n')}`);
    for (const f of shots) assert.ok(fs.existsSync(f.match(/\(screenshot: ([^)]+)\)$/)[1]), f);
    // "<url> (<why>) [<variant>] <rule> (<impact>): ..." -> "<path> <why> <variant> <rule>"
    const got = findings.filter((f) => !shots.includes(f)).map((f) => {
      const m = f.match(/^(\S+) \(([^)]+)\) \[([^\]]+)\] (\S+)/);
      assert.ok(m, `unexpected finding: ${f}`);
      return `${new URL(m[1]).pathname} ${m[2]} ${m[3]} ${m[4]}`;
    });
    const want = [];
    for (const v of ['desktop light', 'desktop dark', '390 px light', '390 px dark']) {
      want.push(`/bad load ${v} color-contrast`, `/bad load ${v} label`);
      if (v.startsWith('390')) want.push(`/bad load ${v} overflow:`, `/bad load ${v} word`);
      want.push(`/good after a change ${v} image-alt`, `/nameless load ${v} button-name`);
    }
    assert.deepEqual([...new Set(got)].sort(), want.sort(), `findings:\n${findings.join('\n')}`);
    // Both faint lines in the dark, one in the light.
    const contrast = (v) => findings.find((f) => f.includes(`[${v}] color-contrast`));
    assert.match(contrast('desktop light'), /at \.faint$/m);
    assert.doesNotMatch(contrast('desktop light'), /\.dim/);
    assert.match(contrast('desktop dark'), /at \.dim$/m);
    // The overflow names the element, not the page's sideways-scrolling table.
    const overflow = findings.filter((f) => f.includes('overflow:'));
    assert.ok(overflow.some((f) => /div\.wide \("Too wide for a phone"\) reaches 500 px/.test(f)), overflow.join('\n'));
    assert.ok(overflow.every((f) => !f.includes('table')), overflow.join('\n'));
    // Only the normal word broke; the id in <code> and the hyphenated words may.
    const broken = findings.filter((f) => f.includes('] word broken: '));
    assert.ok(broken.length === 2 && broken.every((f) => f.endsWith('word broken: "Antidisestablishmentarianism" in main > p.narrow ("Antidisestablishmentarianism")')),
      broken.join('\n'));
    assert.equal(states, 4, 'the bad page, the good page, the good page after the change, the nameless page (the text page skipped)');
  });

  it('fails a test file whose pages have findings, though its tests pass', { timeout: TEST_TIMEOUT_MS }, async () => {
    const here = path.dirname(fileURLToPath(import.meta.url));
    // A run of its own, not a part of this one (which node:test marks in NODE_TEST_CONTEXT).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT'));
    const child = spawn(process.execPath, ['--test', 'fixtures/a11y-fails.mjs'], { cwd: here, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 1, `the file passed:\n${output}`);
    assert.match(output, /^# pass 1$/m, output);
    assert.match(output, /4 accessibility and layout findings/, output);
    for (const v of ['desktop light', 'desktop dark', '390 px light', '390 px dark']) {
      assert.ok(output.includes(`/unlabelled (load) [${v}] label (critical): Form elements must have labels`), `${v}:\n${output}`);
    }
  });
});
