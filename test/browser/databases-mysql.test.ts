import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MARIADB_INSTALL_HINT,
  mariadbAvailable,
  startMariadb,
  type MariadbInstance,
} from '../harness/mariadb.js';
import { requireService } from '../harness/service-missing.js';
import { newDataDir, runCli, startSightlineProcess, type SightlineProcess } from '../harness/sightline.js';
import { chromiumAvailable, launchBrowser, newPage, screenshot, signIn } from './browser.js';

const available = chromiumAvailable() && requireService('MariaDB', mariadbAvailable(), MARIADB_INSTALL_HINT);

/**
 * The database page's charts and tables for a MariaDB watched by the collector after a short
 * `sightline loadgen mysql`: MySQL's equivalents of the PostgreSQL charts (ui/src/db-charts.ts).
 */
describe.skipIf(!available)('the database page of a MariaDB instance in Chromium', () => {
  let server: MariadbInstance;
  let sightline: SightlineProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    server = await startMariadb();
    const setup = await runCli([
      'setup-sql',
      'mysql',
      '--user',
      'sightline',
      '--password',
      'ui-password',
      '--from',
      '127.0.0.1',
    ]);
    expect(setup.code, setup.stderr).toBe(0);
    await server.cli(setup.stdout);
    const dataDir = newDataDir();
    const configFile = join(dataDir, 'sightline.yaml');
    writeFileSync(
      configFile,
      [
        'collect:',
        '  mysql:',
        '    targets:',
        '      - name: main',
        `        url: mysql://sightline:ui-password@${server.host}:${server.port}/`,
        '        metricsIntervalSeconds: 1',
        '        queryStatsIntervalSeconds: 2',
        '',
      ].join('\n'),
    );
    sightline = await startSightlineProcess({ dataDir, args: ['--config', configFile] });
    const load = await runCli(
      ['loadgen', 'mysql', '--url', server.url, '--duration', '6', '--rate', '60', '--quiet'],
      {
        timeoutMs: 60_000,
      },
    );
    expect(load.code, load.stderr).toBe(0);
    browser = await launchBrowser();
    page = await newPage(browser, sightline.apiUrl);
    await signIn(page, sightline.user.email, sightline.user.password);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await sightline?.stop();
    sightline?.cleanup();
    await server?.stop();
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
