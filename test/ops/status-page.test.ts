import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import { REPO_ROOT, startRedis } from '../helpers/index.js';
import { client } from './ops-helpers.js';
import { startAdminProxy, eventually } from '../helpers/index.js';

// The status page (GET / on the admin listener) in a real browser: Debian's chromium,
// headless, driven by puppeteer-core (nothing is downloaded). Traffic runs while the
// page is open, and the numbers it shows must follow. The screenshot is kept in
// .tmp/artifacts/ (git-ignored) for a human to look at.

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, '.tmp', 'artifacts');

const text = (page: Page, id: string) => page.$eval(`#${id}`, (e) => e.textContent ?? '');
/** "1.2k" → 1200, "3" → 3, "–" → NaN */
function count(s: string): number {
  const m = /^([\d.]+)([kM]?)$/.exec(s.trim());
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'k' ? 1e3 : m[2] === 'M' ? 1e6 : 1);
}

test('the status page is self-contained HTML with a strict content policy', async () => {
  const redis = await startRedis();
  const p = await startAdminProxy(redis.port, { until: 'readyz' });
  try {
    const res = await fetch(p.url('/'));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /connect-src 'self'/);
    const html = await res.text();
    assert.doesNotMatch(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no resource from another origin');
    assert.doesNotMatch(html, /@import|url\(/i, 'no stylesheet or font fetched');
    const stats = (await (await fetch(p.url('/stats'))).json()) as Record<string, unknown>;
    for (const field of ['limits', 'requests', 'errors', 'eventLoop', 'version']) assert.ok(field in stats, `/stats has ${field}`);
  } finally {
    await p.proxy.stop();
    await redis.stop();
  }
});

test('in headless chromium the status page shows live numbers that follow traffic', { timeout: 90_000 }, async () => {
  assert.ok(statSync(CHROMIUM).isFile(), `${CHROMIUM} is installed (apt-get install -y chromium; .ci/run does it)`);
  const redis = await startRedis();
  const p = await startAdminProxy(redis.port, { until: 'readyz', args: ['--capacity', '500', '--max-memory', '1mb', '--max-clients', '50'] });
  const profile = mkdtempSync(path.join(tmpdir(), 'redisproxy-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
  });
  const c = client(p.proxy.port);
  let stop = false;
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 820 });
    const origin = new URL(p.url('/')).origin;
    const requested: string[] = [];
    const pageErrors: string[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });

    await page.goto(p.url('/'), { waitUntil: 'load' });
    await eventually('the page polls /stats', async () => (await text(page, 'conn')) === 'live', 10_000);
    await eventually('the page shows the link up', async () => (await text(page, 'link-state')) === 'up', 5000);
    assert.equal(await text(page, 'redis-state'), 'answering');
    assert.equal(count(await text(page, 'capacity')), 500);
    assert.equal(count(await text(page, 'max-clients')), 50);
    const entriesBefore = count(await text(page, 'entries'));
    const totalBefore = count(await text(page, 'requests-total'));

    // traffic: 200 keys written, then read over and over (hits), for a few seconds
    await c.ping();
    for (let i = 0; i < 200; i++) await c.set(`page:${i}`, `value-${i}`);
    const traffic = (async () => {
      let i = 0;
      while (!stop) {
        const batch = c.pipeline();
        for (let j = 0; j < 50; j++) batch.get(`page:${(i++ * 7) % 200}`);
        await batch.exec();
      }
    })();

    await eventually('requests per second above 0', async () => count(await text(page, 'rps')) > 0, 10_000);
    await eventually('entries follow the fills', async () => count(await text(page, 'entries')) >= 200 && count(await text(page, 'entries')) > entriesBefore, 10_000);
    await eventually('hit ratio of a read-heavy load', async () => /%$/.test(await text(page, 'hit-ratio')) && parseFloat(await text(page, 'hit-ratio')) > 50, 10_000);
    const total1 = count(await text(page, 'requests-total'));
    assert.ok(total1 > totalBefore, `request total moved: ${totalBefore} → ${total1}`);
    await eventually('the total keeps moving while traffic runs', async () => count(await text(page, 'requests-total')) > total1, 5000);
    assert.equal(count(await text(page, 'clients')), 1);
    assert.match(await text(page, 'loop-p99'), /^\d+\.\d\d ms$/);
    assert.match(await text(page, 'bytes-bound'), /of 1\.0 MiB/);
    const bar = await page.$eval('#entries-bar', (e) => (e as HTMLElement).style.width);
    assert.ok(parseFloat(bar) >= 40, `entries bar is drawn against capacity: ${bar}`);
    // the charts have drawn something: some pixel of the requests chart is not blank
    const drawn = await page.$eval('#chart-rps', (e) => {
      const cv = e as HTMLCanvasElement;
      const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    });
    assert.ok(drawn > 50, `the requests chart has ${drawn} painted pixels`);

    await new Promise((r) => setTimeout(r, 2000)); // a few more points on the charts
    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'status-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, 'a screenshot was written');

    stop = true;
    await traffic;
    await eventually('requests per second back to 0 once traffic stops', async () => count(await text(page, 'rps')) === 0, 10_000);

    assert.deepEqual(pageErrors, [], 'no script errors on the page');
    assert.deepEqual(requested.filter((u) => !u.startsWith(origin)), [], 'every request went to the admin listener');
    assert.ok(requested.some((u) => u === `${origin}/stats`), 'the page read /stats');
  } finally {
    stop = true;
    c.disconnect();
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
    await p.proxy.stop();
    await redis.stop();
  }
});
