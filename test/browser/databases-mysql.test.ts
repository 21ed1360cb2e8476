import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARIADB_INSTALL_HINT, mariadbAvailable } from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';
import { runCli } from '../harness/sightline.js';
import { startWatchedMariadb, type WatchedMariadb } from '../helpers/watched-mariadb.js';
import { chromiumAvailable, launchBrowser, newPage, screenshot, signIn } from './browser.js';

const available = chromiumAvailable() && requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);

/**
 * The database page's charts and tables for a MariaDB watched by the collector after a short
 * `sightline loadgen mysql`: MySQL's equivalents of the PostgreSQL charts (ui/src/db-charts.ts).
 */
describe.skipIf(!available)('the database page of a MariaDB instance in Chromium', () => {
  let watched: WatchedMariadb;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    watched = await startWatchedMariadb({ queryStatsIntervalSeconds: 2 });
    const load = await runCli(
      ['loadgen', 'mysql', '--url', watched.server.url, '--duration', '6', '--rate', '60', '--quiet'],
      {
        timeoutMs: 60_000,
      },
    );
    expect(load.code, load.stderr).toBe(0);
    browser = await launchBrowser();
    page = await newPage(browser, watched.sightline.apiUrl);
    await signIn(page, watched.sightline.user.email, watched.sightline.user.password);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await watched?.stop();
  });

  it("charts threads, transactions, buffer pool hits, I/O, redo log and lock waits, and lists the loadgen's tables", async () => {
    await page.goto('/databases?range=15m&entity=mysql%3Amain');
    const chart = (id: string) => page.locator(`.db-chart[data-chart="${id}"]`);
    for (const id of ['connections', 'tps', 'cache-hit', 'io', 'wal', 'locks']) {
      await page.locator(`.db-chart[data-chart="${id}"][data-series]`).waitFor();
      expect(Number(await chart(id).getAttribute('data-series')), id).toBeGreaterThan(0);
    }
    expect(await chart('connections').locator('.u-legend').textContent()).toMatch(/connected/);
    expect(await chart('tps').locator('.u-legend').textContent()).toContain('statements');
    // Not a replica: the chart says so.
    await page.locator('.db-chart[data-chart="replication"][data-series="0"]').waitFor();

    const tables = page.getByRole('table', { name: 'Tables' });
    await tables.waitFor();
    expect(await tables.locator('tbody tr td:nth-child(2)').allTextContents()).toEqual(
      expect.arrayContaining(['accounts', 'orders']),
    );
    await screenshot(page, 'database-mariadb');
  });
});
