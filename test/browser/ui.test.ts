import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logsPipeline, metricsPipeline, tracesPipeline } from '../harness/otel-sdk.js';
import { sightlineForSuite } from '../harness/sightline-suite.js';
import {
  builtIndex,
  chromiumAvailable,
  gzippedSize,
  launchBrowser,
  newPage,
  screenshot,
  signIn,
  screenshotFailures,
} from './browser.js';

/**
 * The web UI in a real Chromium against `sightline start` (built by `npm run build`), fed by
 * the OpenTelemetry SDK: what a person sees after sending their first logs, spans and metrics.
 */

const OWNER = { email: 'owner@browser.test', password: 'browser-e2e-owner-pw' };
const VIEWER = { email: 'viewer@browser.test', password: 'browser-e2e-viewer-pw' };
const RUN = `ui${process.pid}`;
const LOG_BODY = `payment declined for order 4711 (${RUN})`;
const METRIC = `browser_e2e_${process.pid}.requests`;
const PROM_METRIC = METRIC.replace(/\./g, '_');

describe.skipIf(!chromiumAvailable())('the web UI in Chromium', () => {
  const sightline = sightlineForSuite({ user: OWNER });
  let browser: Browser;
  let page: Page;
  let traceId = '';

  beforeAll(async () => {
    const { ingestUrl, key } = sightline.server;
    // A trace across two services, and a log written inside its root span.
    const checkout = tracesPipeline(ingestUrl, key, 'proto', 'checkout');
    const payments = tracesPipeline(ingestUrl, key, 'json', 'payments');
    const t0 = Date.now() - 2_000;
    const root = checkout.tracer.startSpan('POST /checkout', {
      startTime: t0,
      attributes: { 'http.route': '/checkout' },
    });
    const inRoot = trace.setSpan(ROOT_CONTEXT, root);
    const query = checkout.tracer.startSpan(
      'SELECT orders',
      {
        startTime: t0 + 10,
        attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM orders' },
      },
      inRoot,
    );
    query.end(t0 + 40);
    const charge = payments.tracer.startSpan(
      'charge card',
      { startTime: t0 + 50, attributes: { 'payment.provider': 'acme' } },
      inRoot,
    );
    charge.end(t0 + 150);
    root.end(t0 + 200);
    traceId = root.spanContext().traceId;

    const logs = logsPipeline(ingestUrl, key, 'proto', 'checkout');
    logs.logger.emit({
      body: LOG_BODY,
      severityNumber: logs.SeverityNumber.WARN,
      severityText: 'WARN',
      attributes: { 'order.id': '4711', 'payment.provider': 'acme' },
      context: inRoot,
    });

    const metrics = metricsPipeline(ingestUrl, key, 'proto', 'checkout');
    const counter = metrics.meter.createCounter(METRIC);
    counter.add(5, { route: '/checkout' });
    await metrics.provider.forceFlush();
    counter.add(7, { route: '/checkout' });
    await metrics.provider.forceFlush();

    await Promise.all([
      checkout.provider.forceFlush(),
      payments.provider.forceFlush(),
      logs.provider.forceFlush(),
    ]);
    for (const tally of [checkout.tally, payments.tally, logs.tally, metrics.tally]) {
      expect(tally.failed, tally.errors.join('; ')).toBe(0);
    }
    await Promise.all([
      checkout.provider.shutdown(),
      payments.provider.shutdown(),
      logs.provider.shutdown(),
      metrics.provider.shutdown(),
    ]);

    const viewer = await fetch(`${sightline.server.apiUrl}/api/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...VIEWER, role: 'viewer' }),
    });
    expect(viewer.status, await viewer.clone().text()).toBe(201);

    browser = await launchBrowser();
    // Signed in once for the screens' tests; the sign-in test has a page of its own.
    page = await newPage(browser, sightline.server.apiUrl);
    await signIn(page, OWNER.email, OWNER.password);
  });

  screenshotFailures(() => page);

  afterAll(async () => {
    await browser?.close();
  });

  it('serves the built app and measures its first load', async () => {
    const first = await newPage(browser, sightline.server.apiUrl);
    const assets: string[] = [];
    first.on('response', (response) => {
      const path = new URL(response.url()).pathname;
      if (path.startsWith('/assets/')) assets.push(path.slice(1));
    });
    const answer = await first.goto('/');
    expect(answer?.status()).toBe(200);
    expect(builtIndex()).toContain('<div id="root"></div>');
    await first.getByRole('heading', { name: 'Sign in to Sightline' }).waitFor();
    const size = gzippedSize(assets);
    console.log(
      `[ui] first load (sign-in page): ${(size.bytes / 1024).toFixed(1)} KiB gzipped in ${size.files.length} files: ${size.files.join(', ')}`,
    );
    expect(size.files.length).toBeGreaterThan(0);
    await first.context().close();
  });

  it('sends a signed-out visitor to sign-in, refuses a wrong password, signs in and out', async () => {
    const page = await newPage(browser, sightline.server.apiUrl);
    await page.goto('/logs?range=6h');
    await page.waitForURL(/\/sign-in\?next=/);
    expect(new URL(page.url()).searchParams.get('next')).toBe('/logs?range=6h');
    await screenshot(page, 'sign-in');

    await page.getByLabel('Email').fill(OWNER.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Wrong email or password');

    await page.getByLabel('Password').fill(OWNER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back where the visitor was going, signed in as the owner.
    await page.waitForURL((url) => url.pathname === '/logs' && url.searchParams.get('range') === '6h');
    await expect.poll(() => page.locator('.whoami').textContent()).toContain(OWNER.email);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in/);
    const me = await page.evaluate('fetch("/api/v1/auth/me").then((r) => r.status)');
    expect(me).toBe(401);
    await page.goto('/traces');
    await page.waitForURL(/\/sign-in\?next=%2Ftraces/);
    await page.context().close();
  });

  it('searches logs: the record sent by the SDK, its attributes, the histogram and the link to its trace', async () => {
    const started = Date.now();
    await page.goto(`/logs?q=${encodeURIComponent(`"${LOG_BODY}"`)}&range=15m`);
    const row = page.getByRole('button', { name: new RegExp(LOG_BODY.replace(/[()]/g, '\\$&')) });
    await row.waitFor();
    const shownAfterMs = Date.now() - started;
    const paint = await page.evaluate<{ fcp: number | null; rows: number | null }>(
      `({ fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
          rows: performance.getEntriesByName('sightline:logs-rendered')[0]?.startTime ?? null })`,
    );
    console.log(
      `[ui] logs page: first contentful paint ${paint.fcp?.toFixed(0)} ms, first rows rendered ` +
        `${paint.rows?.toFixed(0)} ms after navigation start (${shownAfterMs} ms as the test saw it)`,
    );

    await expect.poll(() => page.locator('.log-row').count()).toBe(1);
    await expect.poll(() => row.textContent()).toContain('checkout');
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0);
    expect(await page.getByRole('heading', { name: /Matches over time/ }).count()).toBe(1);

    await row.click();
    const attributes = page.getByRole('table', { name: 'Attributes' });
    await expect.poll(() => attributes.textContent()).toContain('order.id4711');
    expect(await page.getByRole('table', { name: 'Resource' }).textContent()).toContain(
      'service.namecheckout',
    );
    const traceLink = page.getByRole('link', { name: traceId });
    expect(await traceLink.getAttribute('href')).toBe(`/traces/${traceId}`);
    await screenshot(page, 'logs');

    // The search box completes field names and attribute keys of the records shown.
    const box = page.getByRole('combobox', { name: 'Log search' });
    await box.fill('ord');
    await expect
      .poll(() => page.getByRole('listbox').getByRole('option').allTextContents())
      .toContain('order.id:');
    await box.fill('sev');
    await expect
      .poll(() => page.getByRole('listbox').getByRole('option').allTextContents())
      .toContain('severity:');
    await box.press('ArrowDown');
    await box.press('Tab');
    await expect.poll(() => box.inputValue()).toBe('severity:');
    await expect
      .poll(() => page.getByRole('listbox').getByRole('option').allTextContents())
      .toContain('severity:warn');
    await box.press('Escape');
    expect(await page.getByRole('listbox').isHidden()).toBe(true);

    await traceLink.click();
    await page.waitForURL(new RegExp(`/traces/${traceId}`));
    await page.getByRole('table', { name: 'Spans of the trace' }).waitFor();
  });

  it('tails logs live over Server-Sent Events', async () => {
    await page.goto(`/logs?q=${encodeURIComponent(`service:live-${RUN}`)}&live=1`);
    await expect.poll(() => page.locator('.live [role=status]').textContent()).toBe('streaming');
    const live = logsPipeline(sightline.server.ingestUrl, sightline.server.key, 'json', `live-${RUN}`);
    live.logger.emit({ body: `tailed while watching (${RUN})`, severityNumber: live.SeverityNumber.INFO });
    await live.provider.forceFlush();
    await live.provider.shutdown();
    await expect
      .poll(() => page.locator('.live .log-row').allTextContents(), { timeout: 10_000 })
      .toEqual([expect.stringContaining(`tailed while watching (${RUN})`)]);
    await screenshot(page, 'logs-live');
    await page.getByRole('button', { name: 'Stop live tail' }).click();
  });

  it('finds the trace and draws its waterfall across both services; a span shows its attributes', async () => {
    await page.goto('/traces?range=1h&service=checkout');
    const link = page.getByRole('link', { name: traceId });
    await link.waitFor();
    const resultRow = page.locator('tr', { has: link });
    expect(await resultRow.textContent()).toContain('POST /checkout');
    await screenshot(page, 'traces');

    await link.click();
    const waterfall = page.getByRole('table', { name: 'Spans of the trace' });
    await waterfall.waitFor();
    // Root, the query and the other service's span, in start order.
    await expect
      .poll(() => waterfall.locator('.wf-name').allTextContents())
      .toEqual(['Span', 'checkout POST /checkout', 'checkout SELECT orders', 'payments charge card']);
    // Each bar's inline style: left and width in % of the trace, background the service's colour.
    const bars = await Promise.all(
      (await waterfall.locator('.wf-bar').all()).map(async (bar) => {
        const style = new Map(
          ((await bar.getAttribute('style')) ?? '')
            .split(';')
            .filter((d) => d.includes(':'))
            .map((d) => d.split(':').map((part) => part.trim()) as [string, string]),
        );
        return {
          left: parseFloat(style.get('left') ?? ''),
          width: parseFloat(style.get('width') ?? ''),
          colour: style.get('background'),
        };
      }),
    );
    const [rootBar, queryBar, chargeBar] = bars;
    expect(rootBar).toMatchObject({ left: 0, width: 100 });
    expect(queryBar?.left).toBeCloseTo(5, 0);
    expect(chargeBar?.left).toBeCloseTo(25, 0);
    expect(chargeBar?.width).toBeCloseTo(50, 0);
    expect(chargeBar?.colour).not.toBe(rootBar?.colour);

    await page.getByRole('button', { name: 'payments charge card' }).click();
    await expect
      .poll(() => page.getByRole('table', { name: 'Span attributes' }).textContent())
      .toContain('payment.provideracme');
    await screenshot(page, 'trace');
  });

  it('charts a PromQL query with its series in the legend; a bad query shows the message and where', async () => {
    await page.goto('/metrics-explorer?range=15m');
    const box = page.getByRole('combobox', { name: 'PromQL query' });
    await box.fill(PROM_METRIC.slice(0, 14));
    await expect
      .poll(() => page.getByRole('listbox').getByRole('option').allTextContents())
      .toContain(PROM_METRIC);
    await box.fill(PROM_METRIC);
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.waitForURL((url) => url.searchParams.get('query') === PROM_METRIC);
    await expect.poll(() => page.locator('.u-legend').textContent()).toContain(PROM_METRIC);
    const legend = await page.locator('.u-legend').textContent();
    expect(legend).toContain('route="/checkout"');
    expect(legend).toContain('job="checkout"');
    expect(await page.getByRole('heading', { name: /1 series/ }).count()).toBe(1);
    await screenshot(page, 'metrics');

    await box.fill(`rate(${PROM_METRIC}[5m]`);
    await box.press('Enter');
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toMatch(/column \d+/);
    expect(await alert.locator('pre.caret').textContent()).toContain('^');
    await screenshot(page, 'metrics-error');
  });

  it('creates an API key whose secret is shown once and works, then revokes it', async () => {
    await page.goto('/settings/keys');
    await page.getByLabel('Name').fill(`browser-${RUN}`);
    await page.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secretBox = page.getByTestId('new-key-secret');
    await secretBox.waitFor();
    const secret = (await secretBox.textContent()) ?? '';
    expect(secret).toMatch(/^sl_/);
    await screenshot(page, 'api-keys-created');
    const withKey = (key: string) =>
      fetch(`${sightline.server.apiUrl}/api/v1/stats`, { headers: { authorization: `Bearer ${key}` } });
    expect((await withKey(secret)).status).toBe(200);

    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.reload();
    const row = page.locator('tr', { hasText: `browser-${RUN}` });
    await row.waitFor();
    expect(await page.content()).not.toContain(secret);

    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: /Revoke/ }).click();
    await expect.poll(() => row.textContent()).toContain('revoked');
    expect((await withKey(secret)).status).toBe(401);
    await screenshot(page, 'api-keys');
  });

  it('hides key creation from a viewer', async () => {
    const viewerPage = await newPage(browser, sightline.server.apiUrl);
    await signIn(viewerPage, VIEWER.email, VIEWER.password, '/settings/keys');
    await viewerPage.getByRole('heading', { name: 'API keys' }).waitFor();
    await expect.poll(() => viewerPage.locator('.whoami').textContent()).toContain('viewer');
    await viewerPage.locator('table').waitFor();
    expect(await viewerPage.getByRole('button', { name: 'Create key' }).count()).toBe(0);
    expect(await viewerPage.getByRole('button', { name: /Revoke/ }).count()).toBe(0);
    expect(await viewerPage.getByText('Your role is viewer').count()).toBe(1);
    await screenshot(viewerPage, 'api-keys-viewer');
    await viewerPage.context().close();
  });

  it('works from the keyboard: skip link, log rows, the time range panel', async () => {
    await page.goto(`/logs?q=${encodeURIComponent(`"${LOG_BODY}"`)}&range=15m`);
    await page.locator('.log-row').first().waitFor();
    const focused = () => page.evaluate<string>('document.activeElement?.textContent?.trim() ?? ""');
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('Skip to content');

    const row = page.locator('.log-summary').first();
    await row.focus();
    await page.keyboard.press('Enter');
    expect(await row.getAttribute('aria-expanded')).toBe('true');
    await page.keyboard.press('Space');
    expect(await row.getAttribute('aria-expanded')).toBe('false');

    const picker = page.getByRole('button', { name: /Last 15m/ });
    await picker.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('group', { name: 'Time range' }).waitFor();
    await page.keyboard.press('Escape');
    expect(await page.getByRole('group', { name: 'Time range' }).count()).toBe(0);
    expect(await focused()).toContain('Last 15m');
  });

  it('brings new records in on auto-refresh, without a reload', async () => {
    const service = `refresh-${RUN}`;
    await page.goto(`/logs?q=${encodeURIComponent(`service:${service}`)}&range=15m&refresh=10s`);
    await page.getByText('No records match').waitFor();
    const sender = logsPipeline(sightline.server.ingestUrl, sightline.server.key, 'proto', service);
    sender.logger.emit({
      body: `arrived after the page loaded (${RUN})`,
      severityNumber: sender.SeverityNumber.INFO,
    });
    await sender.provider.forceFlush();
    await sender.provider.shutdown();
    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    await expect
      .poll(() => page.locator('.log-row').allTextContents(), { timeout: 15_000, interval: 500 })
      .toEqual([expect.stringContaining(`arrived after the page loaded (${RUN})`)]);
    expect(navigations).toEqual([]);
  });

  it('keeps the time range in the URL and remembers the theme', async () => {
    await page.goto('/logs');
    await page.getByRole('button', { name: /Last 1h/ }).click();
    await page.getByRole('button', { name: 'Last 24h' }).click();
    await page.waitForURL((url) => url.searchParams.get('range') === '24h');
    await page.getByRole('link', { name: 'Traces' }).click();
    await page.waitForURL((url) => url.pathname === '/traces' && url.searchParams.get('range') === '24h');

    // Dragging across the histogram zooms: an absolute range, in the URL too.
    await page.getByRole('link', { name: 'Logs' }).click();
    const plot = page.locator('.chart .u-over');
    const box = await plot.boundingBox();
    if (box === null) throw new Error('the histogram is not drawn');
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForURL((url) => url.searchParams.has('from') && url.searchParams.has('to'));
    const zoomed = new URL(page.url()).searchParams;
    const spanMs = Date.parse(zoomed.get('to') ?? '') - Date.parse(zoomed.get('from') ?? '');
    // 40% of 24 hours, give or take the bucket edges.
    expect(spanMs / 3_600_000).toBeGreaterThan(8);
    expect(spanMs / 3_600_000).toBeLessThan(11);
    expect(zoomed.get('range')).toBeNull();
    await page.getByRole('button', { name: /→/ }).waitFor();
    await page.getByRole('link', { name: 'Traces' }).click();

    const before = await page.evaluate('document.documentElement.dataset.theme');
    await page.getByRole('button', { name: /Switch to (light|dark) theme/ }).click();
    const after = await page.evaluate('document.documentElement.dataset.theme');
    expect(after).not.toBe(before);
    await page.reload();
    await page.getByRole('heading', { name: 'Traces' }).waitFor();
    expect(await page.evaluate('document.documentElement.dataset.theme')).toBe(after);
    await screenshot(page, `traces-${String(after)}`);
  });
});
