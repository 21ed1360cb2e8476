import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KAFKA_INSTALL_HINT, kafkaAvailable } from '../harness/kafka.js';
import { requireService } from '../harness/service-missing.js';
import {
  POISON_REASON,
  POISON_RECORD,
  startPoisonedPipeline,
  type PoisonedPipeline,
} from '../helpers/poisoned-pipeline.js';
import {
  chromiumAvailable,
  launchBrowser,
  newPage,
  screenshot,
  screenshotFailures,
  signIn,
} from './browser.js';

const available = chromiumAvailable() && requireService('Kafka', kafkaAvailable(), KAFKA_INSTALL_HINT);

interface UsageAnswer {
  data: Array<{ day: string; signal: string; records: number }>;
}

/**
 * The Pipeline screen on `sightline start` over a real Kafka broker, fed OTLP logs through the
 * gateway and a malformed raw-queries record produced onto the broker: the topics with their
 * lag, the dead letter with its reason and payload, today's usage.
 */
describe.skipIf(!available)('the Pipeline screen in Chromium', () => {
  let fixture: PoisonedPipeline;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    fixture = await startPoisonedPipeline();
    browser = await launchBrowser();
    page = await newPage(browser, fixture.sightline.apiUrl);
    await signIn(page, fixture.sightline.user.email, fixture.sightline.user.password);
  }, 150_000);

  screenshotFailures(() => page);

  afterAll(async () => {
    await browser?.close();
    await fixture?.stop();
  });

  it('shows the topics, the dead letter with its reason and payload, and today’s usage', async () => {
    await page.getByRole('link', { name: 'Pipeline' }).click();
    await page.waitForURL((url) => url.pathname === '/pipeline');
    await expect.poll(() => page.title()).toBe('Pipeline · Sightline');

    const topics = page.locator('table.topics');
    await topics.waitFor();
    const logsRow = topics.locator('tbody tr', { hasText: 'otel-logs' });
    // Kafka's lag is read every 5 s: a number once the first reading came.
    await expect.poll(() => logsRow.locator('td').first().textContent(), { timeout: 20_000 }).toBe('0');
    expect(await topics.locator('tbody tr', { hasText: 'dead-letter' }).count()).toBe(1);

    const reasons = page.locator('table.reasons');
    expect(await reasons.locator('tbody tr').allTextContents()).toEqual([`raw-queries${POISON_REASON}1`]);
    const list = page.getByRole('list', { name: 'Dead letters, newest first' });
    const item = list.getByRole('listitem');
    expect(await item.count()).toBe(1);
    expect(await item.locator('.dead-letter-reason').textContent()).toBe(POISON_REASON);
    await item.locator('summary').click();
    expect(await item.locator('pre.dead-letter-preview').textContent()).toBe(POISON_RECORD);

    // The usage table shows what the API reports for today's logs: every record sent.
    const today = new Date().toISOString().slice(0, 10);
    const usage = (await fixture.api.get<UsageAnswer>('/api/v1/usage')).body.data;
    const logs = usage.find((d) => d.signal === 'logs' && d.day === today);
    expect(logs?.records).toBe(fixture.logsSent);
    const usageRow = page.locator('.usage tbody tr', { hasText: 'logs' });
    expect(await usageRow.locator('td').allTextContents()).toEqual(
      expect.arrayContaining([today, 'logs', fixture.logsSent.toLocaleString('en-US')]),
    );

    // The refusals since start list the dead letter, counted for every org.
    const refused = page.locator('table', { hasText: 'dead_letter' });
    expect(await refused.locator('tbody tr', { hasText: 'dead_letter' }).textContent()).toContain(
      'every organization',
    );
    await screenshot(page, 'pipeline');
  });

  it('keeps the range in the URL and says when a range has no dead letters', async () => {
    await page.goto('/pipeline?from=2020-01-01T00:00:00Z&to=2020-01-01T01:00:00Z');
    await page.getByText('No dead letters').waitFor();
    await page.getByText('No usage').waitFor();
    await page.getByRole('link', { name: 'Logs' }).click();
    await page.waitForURL((url) => url.pathname === '/logs');
    expect(new URL(page.url()).searchParams.get('from')).toBe('2020-01-01T00:00:00Z');
  });
});
