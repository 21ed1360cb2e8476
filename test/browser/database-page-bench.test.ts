import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  newDataDir,
  startSightlineProcess,
  testKey,
  testUser,
  type SightlineProcess,
} from '../harness/sightline.js';
import { chromiumAvailable, gzippedSize, launchBrowser, newPage, screenshot, signIn } from './browser.js';
import { HISTORY_TARGET, writePostgresHistory, type HistoryFigures } from './postgres-history.js';

/** The charts the database page draws for a PostgreSQL instance (ui/src/db-charts.ts). */
const CHARTS = 7;

/**
 * The issue's benchmark: time to first meaningful paint of the database page with 24 h of one
 * PostgreSQL target (test/browser/postgres-history.ts writes them), in Chromium against
 * `sightline start`. Reported, not asserted (target: under 1.5 s); what is asserted is that
 * the page drew the day's data.
 */
describe.skipIf(!chromiumAvailable())('the database page with 24 h of one PostgreSQL target', () => {
  let sightline: SightlineProcess;
  let browser: Browser;
  let page: Page;
  let figures: HistoryFigures;
  let writeMs: number;

  beforeAll(async () => {
    const dataDir = newDataDir();
    const user = testUser();
    // The first start creates the org and the owner; the history is written while it is stopped.
    const first = await startSightlineProcess({ dataDir, user, key: testKey() });
    await first.stop();
    const started = performance.now();
    figures = await writePostgresHistory(dataDir, Date.now());
    writeMs = performance.now() - started;
    sightline = await startSightlineProcess({ dataDir, user, key: 'existing' });
    browser = await launchBrowser();
    page = await newPage(browser, sightline.apiUrl);
    await signIn(page, user.email, user.password);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await sightline?.stop();
    sightline?.cleanup();
  });

  it('draws the charts and the top statements of the day, and reports how long that took', async () => {
    const assets: string[] = [];
    page.on('response', (response) => {
      const path = new URL(response.url()).pathname;
      if (path.startsWith('/assets/') && path.endsWith('.js')) assets.push(path.slice(1));
    });
    // What the page waited for: each API call's time, to see where the time goes.
    const calls: Array<{ what: string; ms: number }> = [];
    page.on('requestfinished', (request) => {
      const url = new URL(request.url());
      if (!url.pathname.startsWith('/api/')) return;
      const body = request.postDataJSON() as { query?: string } | null;
      calls.push({
        what: `${url.pathname}${body?.query === undefined ? '' : ` ${body.query.slice(0, 60)}`}`,
        ms: request.timing().responseEnd,
      });
    });
    const entity = encodeURIComponent(HISTORY_TARGET.instanceId);
    await page.goto(`/databases?range=24h&entity=${entity}`);
    // Drawn: every chart answered (a canvas or its empty note), the activity chart and the top statements are on screen.
    // Polled every animation frame in the page: the time is the page's own clock, from navigation start.
    const paintedAt = await page.waitForFunction(
      `(() => {
        const answered = document.querySelectorAll('.db-chart[data-series]').length;
        const activity = document.querySelector('[aria-label="Average active sessions by wait event type"] canvas');
        const rows = document.querySelectorAll('table.queries tbody tr').length;
        return answered === ${CHARTS} && activity !== null && rows > 0 ? performance.now() : false;
      })()`,
      undefined,
      { polling: 'raf', timeout: 60_000 },
    );
    const paintMs = (await paintedAt.jsonValue()) as number;
    const js = gzippedSize(assets);

    const drawn: Array<[string, number]> = [];
    for (const chart of await page.locator('.db-chart[data-series]').all()) {
      drawn.push([
        (await chart.getAttribute('data-chart')) ?? '',
        Number(await chart.getAttribute('data-series')),
      ]);
    }
    console.info(
      `[bench] database page, 24 h of one PostgreSQL target (${figures.metricPoints.toLocaleString()} metric points, ` +
        `${figures.queryIntervals.toLocaleString()} statement intervals, ${figures.snapshots.toLocaleString()} session ` +
        `snapshots; written in ${(writeMs / 1000).toFixed(1)} s): charts and top statements drawn ` +
        `${Math.round(paintMs)} ms after navigation (target < 1500 ms); JS of the page ` +
        `${(js.bytes / 1024).toFixed(1)} KiB gzipped in ${js.files.length} files`,
    );
    const slowest = [...calls].sort((a, b) => b.ms - a.ms).slice(0, 5);
    console.info(
      `[bench] ${calls.length} API calls; slowest: ${slowest.map((c) => `${Math.round(c.ms)} ms ${c.what}`).join(' | ')}`,
    );
    // The day was drawn: every chart but replication lag (the target has no replica) has series.
    expect(Object.fromEntries(drawn)).toEqual({
      connections: 6,
      tps: 2,
      'cache-hit': 1,
      io: 3,
      wal: 1,
      replication: 0,
      locks: 5,
    });
    expect(await page.locator('table.queries tbody tr').count()).toBe(40);
    await screenshot(page, 'database-24h');
  });

  it('shows the statement whose plan changed at midday, with its two plan shapes', async () => {
    await page.locator('table.queries a', { hasText: 'JOIN customers' }).click();
    const shapes = page.getByRole('table', { name: 'Plan shapes' });
    await shapes.waitFor();
    expect(await shapes.locator('pre.plan-shape').allTextContents()).toEqual([
      expect.stringContaining('Index Scan on orders_status_created_idx'),
      expect.stringContaining('Seq Scan on orders'),
    ]);
    // The day in buckets of the series route's default step (a round step near 1/120 of the range: 15 min).
    expect(Number(await page.locator('.query-charts').getAttribute('data-points'))).toBeGreaterThanOrEqual(
      96,
    );
    await screenshot(page, 'query-24h');
  });
});
