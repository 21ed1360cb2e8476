import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sightlineForSuite } from '../harness/sightline-suite.js';
import { logsPipeline } from '../harness/otel-sdk.js';
import { newDataDir, runCli } from '../harness/sightline.js';

const SERVICE = 'redact-e2e';

/**
 * The redact stage through the built CLI with its defaults: logs sent with the OpenTelemetry SDK
 * carry emails, card numbers and a password; what the query API gives back has them replaced,
 * keeps a number that fails the Luhn check, and /metrics counts the redactions per rule.
 */
describe('the redact stage in `sightline start`', () => {
  const sightline = sightlineForSuite();

  it('stores log bodies and attributes with emails and Luhn-valid card numbers redacted', async () => {
    const { provider, logger, tally, SeverityNumber } = logsPipeline(
      sightline.server.ingestUrl,
      sightline.server.key,
      'proto',
      SERVICE,
    );
    const emit = (body: string, attributes: Record<string, string | number>): void =>
      logger.emit({ body, severityNumber: SeverityNumber.INFO, severityText: 'INFO', attributes });
    emit('order 1 paid by alice@example.com with 4111 1111 1111 1111', { 'order.id': 1 });
    emit('order 2 reference 4111111111111112 is not a card', {
      'order.id': 2,
      'user.email': 'bob@example.com',
      'payment.card': '5555-5555-5555-4444',
      'order.reference': '4111111111111112',
      'http.url': 'https://shop.example/confirm?email=carol%40example.com&step=2',
      password: 'hunter2',
    });
    emit('order 3 from José — dave@exämple.com 🙂', { 'order.id': 3 });
    await provider.forceFlush();
    expect(tally).toMatchObject({ succeeded: 3, failed: 0 });

    const logs = await sightline.api.logs({ q: `service:${SERVICE}`, limit: '100' });
    const byOrder = new Map(logs.map((l) => [l.attributes['order.id'], l]));
    expect(byOrder.get(1)?.body).toBe('order 1 paid by [REDACTED:email] with [REDACTED:credit_card]');
    expect(byOrder.get(2)?.body).toBe('order 2 reference 4111111111111112 is not a card');
    expect(byOrder.get(2)?.attributes).toEqual({
      'order.id': 2,
      'user.email': '[REDACTED:email]',
      'payment.card': '[REDACTED:credit_card]',
      'order.reference': '4111111111111112',
      'http.url': 'https://shop.example/confirm?email=[REDACTED:email]&step=2',
      password: '[REDACTED:key_blocklist]',
    });
    expect(byOrder.get(3)?.body).toBe('order 3 from José — [REDACTED:email] 🙂');

    // Nothing of the originals can be found by searching either.
    expect(await sightline.api.logs({ q: `service:${SERVICE} "alice@example.com"` })).toEqual([]);
    expect(await sightline.api.logs({ q: `service:${SERVICE} "4111 1111 1111 1111"` })).toEqual([]);
    await provider.shutdown();
  });

  it('counts the redactions per rule on /metrics', async () => {
    const response = await fetch(`${sightline.server.processorMetricsUrl}/metrics`, {
      headers: { authorization: `Bearer ${sightline.server.key}` },
    });
    const text = await response.text();
    const count = (reason: string): number =>
      Number(
        new RegExp(
          `sightline_stage_records_total\\{org="[^"]+",outcome="changed",kind="logs",reason="${reason}"\\} (\\d+)`,
        ).exec(text)?.[1] ?? 0,
      );
    expect(count('email')).toBe(4);
    expect(count('credit_card')).toBe(2);
    expect(count('key_blocklist')).toBe(1);
  });
});

describe('a redact config that cannot work', () => {
  it('stops start-up with exit code 2, naming the custom rule whose pattern does not compile', async () => {
    const dataDir = newDataDir();
    const configFile = join(dataDir, 'sightline.yaml');
    writeFileSync(
      configFile,
      [
        'processor:',
        '  stages:',
        '    - type: redact',
        '      custom:',
        '        - name: order_ref',
        "          pattern: 'ORD-[0-9'",
        '',
      ].join('\n'),
    );
    const { code, stderr } = await runCli([
      'start',
      '--config',
      configFile,
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--ingest-port',
      '0',
    ]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/processor\.stages\.0\.custom\.0\.pattern/);
    expect(stderr).toMatch(/custom rule "order_ref": the pattern does not compile/);
  });
});
