import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../harness/api-client.js';
import { POSTGRES_INSTALL_HINT, postgresAvailable } from '../harness/postgres.js';
import { requireService } from '../harness/service-missing.js';
import type { QueryDetail } from '../helpers/database-api.js';
import { sendServiceSpans } from '../helpers/overview-spans.js';
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

const SERVICE = 'checkout-overview';

/**
 * The Overview screen, the landing page after sign-in, on a real PostgreSQL watched by the
 * collector after a load run and spans sent over OTLP; then the path the issue names:
 * overview → database → query detail → plan.
 */
describe.skipIf(!available)('the Overview screen in Chromium', () => {
  let watched: PostgresWithPlan;
  let browser: Browser;
  let page: Page;
  let withPlan: QueryDetail & { fingerprint: string };

  beforeAll(async () => {
    watched = await startPostgresWithPlan({ SIGHTLINE_STORE__RETENTION__ROLLUPS__INTERVAL_SECONDS: '1' });
    ({ withPlan } = watched);
    const { sightline } = watched;
    await sendServiceSpans(sightline.ingestUrl, sightline.key, SERVICE, 8, 2);
    const api = new ApiClient(sightline.apiUrl, sightline.key);
    await vi.waitUntil(
      async () =>
        (await api.get<{ services: Array<{ service: string }> }>('/api/v1/overview')).body.services.some(
          (s) => s.service === SERVICE,
        ),
      { timeout: 90_000, interval: 500 },
    );
    browser = await launchBrowser();
    page = await newPage(browser, sightline.apiUrl);
  }, 180_000);

  screenshotFailures(() => page);

  afterAll(async () => {
    await browser?.close();
    await watched?.stop();
  });

  it('lands on the overview after sign-in with the instance, the service and the ingest volumes', async () => {
    const { user } = watched.sightline;
    await signIn(page, user.email, user.password, '/?range=15m');
    await page.waitForURL((url) => url.pathname === '/overview' && url.searchParams.get('range') === '15m');

    const card = page.getByRole('listitem', { name: 'Database main' });
    await expect.poll(() => card.locator('.badge').textContent()).toBe('up');
    const max = (await watched.postgres.psql('SHOW max_connections')).trim();
    await expect
      .poll(() => card.locator('[data-figure="connections"]').textContent())
      .toMatch(new RegExp(`^\\d+ / ${max}$`));
    expect(await card.locator('[data-figure="tps"]').textContent()).toMatch(/^[\d.]+k?\/s$/);
    expect(await card.locator('[data-figure="mean"]').textContent()).toMatch(/\d.*(µs|ms|s)$/);
    expect(await card.locator('[data-figure="lag"]').textContent()).toBe('none');

    const services = page.getByRole('table', { name: 'Services' });
    const row = services.getByRole('row', { name: new RegExp(SERVICE) });
    // 2 of the 8 spans sent failed.
    expect(await row.locator('td').nth(1).textContent()).toBe('8');
    expect(await row.locator('td').nth(3).textContent()).toBe('25.0%');
    expect(await row.getByRole('link', { name: SERVICE }).getAttribute('href')).toBe(
      `/traces?service=${SERVICE}&range=15m`,
    );

    const ingest = page.getByRole('table', { name: 'Ingest per signal' });
    expect(
      await ingest
        .getByRole('row', { name: /^Spans/ })
        .locator('td')
        .nth(1)
        .textContent(),
    ).toBe('8');
    expect(
      Number(
        (
          await ingest
            .getByRole('row', { name: /^Metric points/ })
            .locator('td')
            .nth(1)
            .textContent()
        )?.replace(/,/g, ''),
      ),
    ).toBeGreaterThan(0);
    await screenshot(page, 'overview');
  });

  it('brings new spans in on auto-refresh, and says when a range holds nothing or cannot be read', async () => {
    await page.goto('/overview?range=15m&refresh=10s');
    const spans = page.getByRole('table', { name: 'Ingest per signal' }).getByRole('row', { name: /^Spans/ });
    await expect.poll(() => spans.locator('td').nth(1).textContent()).toBe('8');
    await sendServiceSpans(watched.sightline.ingestUrl, watched.sightline.key, SERVICE, 4, 0);
    await expect.poll(() => spans.locator('td').nth(1).textContent(), { timeout: 25_000 }).toBe('12');

    // An hour long before anything was sent: the instance is still listed, nothing else is.
    await page.goto('/overview?from=2020-01-01T00:00:00Z&to=2020-01-01T01:00:00Z');
    await page.getByText('No spans in this time range.').waitFor();
    await page.getByText('Nothing stored in this time range.').waitFor();
    await page.getByRole('listitem', { name: 'Database main' }).waitFor();

    // Longer than api.query.maxRangeDays: the API's message, shown with what failed.
    await page.goto('/overview?from=2020-01-01T00:00:00Z&to=2020-06-01T00:00:00Z');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('Could not load the overview');
    expect(await alert.textContent()).toMatch(/range|days/);
    await alert.getByRole('button', { name: 'Retry' }).waitFor();
  });

  it('follows overview → database → query detail → plan', async () => {
    await page.goto('/overview?range=15m');
    await page.getByRole('listitem', { name: 'Database main' }).getByRole('link', { name: 'main' }).click();
    await page.waitForURL(
      (url) => url.pathname === '/databases' && url.searchParams.get('entity') === 'pg:main',
    );
    expect(new URL(page.url()).searchParams.get('range')).toBe('15m');

    const link = page.locator(`a[href^="/queries/${encodeURIComponent(withPlan.fingerprint)}"]`).first();
    await link.click();
    await page.waitForURL(new RegExp(`/queries/${encodeURIComponent(withPlan.fingerprint)}`));
    await expect.poll(() => page.locator('pre.sql').textContent()).toBe(withPlan.query);

    const tree = page.getByRole('tree', { name: 'Query plan' }).first();
    await tree.waitFor();
    const root = (withPlan.samples.find((s) => s.plan !== null)?.plan as { Plan?: { 'Node Type'?: string } })
      ?.Plan?.['Node Type'];
    expect(root).toBeDefined();
    expect(await page.getByRole('treeitem').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining(String(root))]),
    );
  });
});
