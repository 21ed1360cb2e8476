import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_INSTALL_HINT, postgresAvailable } from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';
import type { SightlineProcess } from '../harness/sightline.js';
import { UNUSED_INDEX } from '../../src/collect/loadgen/driver.js';
import type { QueryDetail } from '../helpers/database-api.js';
import {
  chromiumAvailable,
  launchBrowser,
  newPage,
  screenshot,
  screenshotFailures,
  signIn,
} from './browser.js';
import { startPostgresWithPlan, type PostgresWithPlan } from '../helpers/watched-postgres.js';

const available =
  chromiumAvailable() && requireService('PostgreSQL 15', postgresAvailable(), POSTGRES_INSTALL_HINT);

/**
 * The Databases screen on a real PostgreSQL watched by the collector, after a short
 * `sightline loadgen postgres`: the instance, the top statements (sortable), one statement with
 * its sampled plan drawn as a tree.
 */
describe.skipIf(!available)('the Databases screen in Chromium', () => {
  let watched: PostgresWithPlan;
  let sightline: SightlineProcess;
  let browser: Browser;
  let page: Page;
  let withPlan: QueryDetail & { fingerprint: string };

  beforeAll(async () => {
    watched = await startPostgresWithPlan();
    ({ sightline, withPlan } = watched);
    browser = await launchBrowser();
    page = await newPage(browser, sightline.apiUrl);
    await signIn(page, sightline.user.email, sightline.user.password);
  }, 120_000);

  screenshotFailures(() => page);

  afterAll(async () => {
    await browser?.close();
    await watched?.stop();
  });

  it('lists the instance and its top statements, sortable by any column', async () => {
    const seriesReads: string[] = [];
    const countSeriesReads = (request: { url(): string }): void => {
      if (/\/api\/v1\/queries\/[^/?]+\/series/.test(request.url())) seriesReads.push(request.url());
    };
    page.on('request', countSeriesReads);
    await page.goto('/databases?range=15m');
    const instance = page.getByRole('button', { name: /main/ }).first();
    await expect.poll(() => instance.textContent()).toMatch(/up.*main.*postgresql\.instance/);
    const table = page.locator('table.queries');
    await table.waitFor();
    expect(await table.locator('tbody tr').count()).toBeGreaterThan(1);

    const calls = async (): Promise<number[]> =>
      (await table.locator('tbody tr td:nth-child(4)').allTextContents()).map((t) =>
        Number(t.replace(/,/g, '')),
      );
    await table.getByRole('button', { name: 'Calls' }).click();
    await page.waitForURL((url) => url.searchParams.get('sort') === 'calls');
    const descending = await calls();
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    expect(await table.locator('th[aria-sort="descending"]').textContent()).toContain('Calls');
    await table.getByRole('button', { name: /Calls/ }).click();
    await page.waitForURL((url) => url.searchParams.get('dir') === 'asc');
    const ascending = await calls();
    expect(ascending).toEqual([...ascending].sort((a, b) => a - b));
    // I/O: the blocks each statement read from outside shared buffers, sortable too.
    await table.getByRole('button', { name: 'Blocks read' }).click();
    await page.waitForURL((url) => url.searchParams.get('sort') === 'sharedBlksRead');
    const blocks = (await table.locator('tbody tr td:last-child').allTextContents()).map((t) =>
      Number(t.replace(/,/g, '')),
    );
    expect(blocks).toEqual([...blocks].sort((a, b) => b - a));
    // A sparkline of total time per row, from the statement's series.
    const sparkline = table
      .locator('tbody tr')
      .first()
      .getByRole('img', { name: 'Total time of the statement over the range' });
    await expect.poll(async () => Number(await sparkline.getAttribute('data-points'))).toBeGreaterThan(0);
    expect(await sparkline.locator('polyline').count()).toBe(1);
    // Every row's line comes from the top statements' answer: no read per statement.
    expect(await table.getByRole('img', { name: 'Total time of the statement over the range' }).count()).toBe(
      await table.locator('tbody tr').count(),
    );
    page.off('request', countSeriesReads);
    expect(seriesReads).toEqual([]);
    await screenshot(page, 'databases');
  });

  it("shows an instance's sessions: average active sessions by wait and the snapshot", async () => {
    await page.goto('/databases?range=15m');
    await page.getByRole('button', { name: /main/ }).first().click();
    await page.waitForURL((url) => url.searchParams.get('entity') === 'pg:main');
    const chart = page.getByRole('img', { name: 'Average active sessions by wait event type' });
    await chart.waitFor();
    expect(await chart.locator('canvas').count()).toBeGreaterThan(0);
    // The load run has ended: the latest snapshot may hold no session but the series has the run.
    await page.getByRole('heading', { name: /^\d+ sessions at / }).waitFor();
    await page.getByRole('table', { name: 'Sessions' }).waitFor();
    expect(await chart.locator('.u-legend').textContent()).toMatch(/CPU|Lock|IO|Client|LWLock|IPC/);
    await screenshot(page, 'database-activity');

    // Its metrics, each a link to the PromQL chart of the instance's series.
    // The list is read when its panel opens.
    await page.locator('.db-metrics summary').click();
    await page.getByText(/^Metrics \(\d+/).waitFor();
    const metrics = page.getByRole('table', { name: 'Metrics of the database' });
    await metrics.getByRole('link', { name: 'postgresql.commits' }).click();
    await page.waitForURL((url) => url.pathname === '/metrics-explorer');
    expect(new URL(page.url()).searchParams.get('query')).toBe('postgresql_commits{entity_id="pg:main"}');
    await expect.poll(() => page.locator('.u-legend').textContent()).toContain('entity_id="pg:main"');
    await screenshot(page, 'database-metric');
  });

  it("charts the picked instance's health and lists its tables and indexes from the stored metrics", async () => {
    await page.goto('/databases?range=15m&entity=pg%3Amain');
    const chart = (id: string) => page.locator(`.db-chart[data-chart="${id}"]`);
    // Every chart the collector has data for draws at least one series of the load run.
    for (const id of ['connections', 'tps', 'cache-hit', 'io', 'wal', 'locks']) {
      await page.locator(`.db-chart[data-chart="${id}"][data-series]`).waitFor();
      expect(Number(await chart(id).getAttribute('data-series')), id).toBeGreaterThan(0);
      expect(await chart(id).locator('canvas').count(), id).toBeGreaterThan(0);
    }
    expect(await chart('connections').locator('.u-legend').textContent()).toMatch(/idle|active/);
    expect(await chart('tps').locator('.u-legend').textContent()).toContain('commits');
    // The test server streams to no replica: the chart says so instead of drawing nothing.
    await page.locator('.db-chart[data-chart="replication"][data-series="0"]').waitFor();
    expect(await chart('replication').textContent()).toContain('no replica');

    const tables = page.getByRole('table', { name: 'Tables' });
    await tables.waitFor();
    const tableNames = await tables.locator('tbody tr td:nth-child(2)').allTextContents();
    expect(tableNames).toEqual(expect.arrayContaining(['accounts', 'orders', 'events']));
    const accounts = tables.locator('tbody tr', { hasText: 'accounts' }).first();
    expect(await accounts.locator('td:nth-child(3)').textContent()).toMatch(/\d+(\.\d+)? (B|KiB|MiB)/);
    const indexes = page.getByRole('table', { name: 'Indexes' });
    const unused = indexes.locator('tbody tr', { hasText: UNUSED_INDEX });
    await unused.waitFor();
    expect(await unused.textContent()).toContain('unused');
    await screenshot(page, 'database-charts');
  });

  it('shows one statement with its sampled plan as a tree', async () => {
    await page.goto(`/databases?range=15m`);
    const link = page.locator(`a[href^="/queries/${encodeURIComponent(withPlan.fingerprint)}"]`);
    await link.click();
    await page.waitForURL(new RegExp(`/queries/${encodeURIComponent(withPlan.fingerprint)}`));
    await expect.poll(() => page.locator('pre.sql').textContent()).toBe(withPlan.query);
    // Highlighted: the statement's keywords are marked, the text stays the statement.
    expect(
      (await page.locator('pre.sql .sql-keyword').allTextContents()).map((k) => k.toUpperCase()),
    ).toContain(withPlan.query.trimStart().split(/\s/)[0]?.toUpperCase());
    // Calls, latency and rows over time: a point per collected interval of the load run.
    const overTime = page.locator('.query-charts');
    await overTime.waitFor();
    expect(Number(await overTime.getAttribute('data-points'))).toBeGreaterThan(0);
    expect(await overTime.locator('canvas').count()).toBeGreaterThanOrEqual(3);
    const tree = page.getByRole('tree', { name: 'Query plan' }).first();
    await tree.waitFor();
    const root = (withPlan.samples.find((s) => s.plan !== null)?.plan as { Plan?: { 'Node Type'?: string } })
      ?.Plan?.['Node Type'];
    expect(root).toBeDefined();
    expect(await page.getByRole('treeitem').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining(String(root))]),
    );
    // The plan shapes of the samples, with the root node's type on the shape's first line.
    const shapes = page.getByRole('table', { name: 'Plan shapes' });
    expect(await shapes.locator('tbody tr').count()).toBeGreaterThan(0);
    expect(await shapes.locator('tbody tr td:first-child').first().textContent()).toMatch(/^[0-9a-f]{8}$/);
    expect(await shapes.locator('pre.plan-shape').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^${String(root)}`))]),
    );
    await screenshot(page, 'query');
  });

  it("links a span that ran one of the database's statements to that statement's page", async () => {
    // The statement as an application reports it: values where pg_stat_statements has $n.
    const statement = withPlan.query.replace(/\$\d+/g, '42');
    const traceId = randomBytes(16).toString('hex');
    const now = BigInt(Date.now()) * 1_000_000n;
    const body = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId,
                  spanId: randomBytes(8).toString('hex'),
                  name: 'SELECT',
                  kind: 3,
                  startTimeUnixNano: String(now - 2_000_000n),
                  endTimeUnixNano: String(now),
                  attributes: [
                    { key: 'db.system', value: { stringValue: 'postgresql' } },
                    { key: 'db.statement', value: { stringValue: statement } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const sent = await fetch(`${sightline.ingestUrl}/v1/traces`, {
      method: 'POST',
      headers: { authorization: `Bearer ${sightline.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(sent.status, await sent.text()).toBe(200);

    await expect
      .poll(
        async () =>
          (
            await fetch(`${sightline.apiUrl}/api/v1/traces/${traceId}`, {
              headers: { authorization: `Bearer ${sightline.key}` },
            })
          ).status,
        { timeout: 15_000 },
      )
      .toBe(200);
    await page.goto(`/traces/${traceId}?range=1h`);
    await page
      .getByRole('button', { name: /SELECT/ })
      .first()
      .click();
    await page.getByRole('link', { name: 'Its statistics and plans' }).click();
    await page.waitForURL(new RegExp(`/queries/${encodeURIComponent(withPlan.fingerprint)}`));
    await expect.poll(() => page.locator('pre.sql').textContent()).toBe(withPlan.query);
    await screenshot(page, 'trace-to-query');
  });
});
