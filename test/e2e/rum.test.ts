import { DuckDBInstance } from '@duckdb/node-api';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post } from '../harness/otlp-requests.js';
import { startSightlineProcess, type SightlineProcess } from '../harness/sightline.js';

const CHROME_MAC =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
/** A public address DB-IP places in Mountain View, US; the test's socket is 127.0.0.1. */
const CLIENT = '8.8.8.8';

/** Every row of rum_events of a stopped Sightline, read from its file. */
async function storedEvents(
  dataDir: string,
): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
  const instance = await DuckDBInstance.create(join(dataDir, 'sightline.duckdb'), {
    access_mode: 'READ_ONLY',
  });
  try {
    const connection = await instance.connect();
    const columns = (await connection.runAndReadAll('DESCRIBE rum_events'))
      .getRowObjectsJS()
      .map((row) => (typeof row.column_name === 'string' ? row.column_name : ''));
    const rows = (
      await connection.runAndReadAll('SELECT * EXCLUDE (id, ts) FROM rum_events ORDER BY type')
    ).getRowObjectsJS();
    connection.closeSync();
    return { columns, rows };
  } finally {
    instance.closeSync();
  }
}

/**
 * Real User Monitoring through the built CLI: a browser's events posted to the ingest port come
 * out of the pipeline as rum_events rows with the browser, OS and location worked out, personal
 * data redacted, and the client's address nowhere in the file.
 */
describe('browser events (POST /v1/rum) end to end', () => {
  let server: SightlineProcess;

  beforeAll(async () => {
    // Sightline behind a reverse proxy: the client is the first X-Forwarded-For entry.
    server = await startSightlineProcess({ env: { SIGHTLINE_INGEST__RUM__TRUST_PROXY: 'true' } });
  });

  afterAll(async () => {
    expect(await server.stop()).toBe(0);
    server.cleanup();
  });

  const rum = (body: unknown, headers: Record<string, string> = {}) =>
    post(`${server.ingestUrl}/v1/rum`, Buffer.from(JSON.stringify(body)), {
      'content-type': 'application/json',
      'user-agent': CHROME_MAC,
      'x-forwarded-for': `${CLIENT}, 10.0.0.2`,
      authorization: `Bearer ${server.key}`,
      ...headers,
    });

  it('answers a CORS preflight from a page without a key', async () => {
    const response = await fetch(`${server.ingestUrl}/v1/rum`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-methods')).toBe('POST, OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(response.headers.get('access-control-allow-headers')).toContain('content-type');
  });

  it('answers 401 to events without a key', async () => {
    const response = await rum(
      {
        app: 'shop-web',
        events: [{ type: 'page_view', sessionId: 's', timestamp: Date.now(), url: 'https://a/' }],
      },
      { authorization: '' },
    );
    expect(response.status).toBe(401);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(JSON.parse(response.body.toString())).toMatchObject({
      message: expect.stringMatching(/missing API key/) as unknown,
    });
  });

  it('stores a page view, a web vital and an error, enriched and redacted, and rejects a malformed event by index', async () => {
    const now = Date.now();
    const session = { sessionId: 'e2e-session-1', viewId: 'view-1' };
    const url = 'https://shop.example/checkout?step=pay';
    const response = await rum({
      app: 'shop-web',
      release: '2026.11.1',
      events: [
        {
          type: 'page_view',
          ...session,
          timestamp: now,
          url,
          referrer: 'https://shop.example/cart',
          title: 'Checkout',
        },
        { type: 'web_vital', ...session, timestamp: now + 1200.25, url, name: 'LCP', value: 1830.5 },
        {
          type: 'error',
          ...session,
          timestamp: now + 2000,
          url,
          message: 'no account for jane.doe@example.com',
          errorType: 'TypeError',
          stack: 'TypeError: no account\n    at pay (checkout.js:10:5)',
          attributes: { component: 'payment-form' },
        },
        // FID is no longer a web vital (INP replaced it): rejected, the others are stored.
        { type: 'web_vital', ...session, timestamp: now, url, name: 'FID', value: 12 },
      ],
    });
    expect(response.status).toBe(200);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(JSON.parse(response.body.toString())).toEqual({
      accepted: 3,
      rejected: 1,
      errors: [
        {
          index: 3,
          reason: 'invalid_web_vital',
          message: 'web vital name "FID" is none of LCP, CLS, INP, FCP, TTFB',
        },
      ],
    });

    const metrics = await (
      await fetch(`${server.apiUrl}/metrics`, { headers: { authorization: `Bearer ${server.key}` } })
    ).text();
    expect(metrics).toContain('sightline_records_received_total{signal="rum"} 4');
    expect(metrics).toContain('sightline_records_accepted_total{signal="rum"} 3');
    expect(metrics).toContain('sightline_records_rejected_total{signal="rum",reason="invalid_web_vital"} 1');

    // The answer came once the events were stored; a clean stop leaves them in the file.
    expect(await server.stop()).toBe(0);
    const { columns, rows } = await storedEvents(server.dataDir);
    const browser = {
      org_id: expect.any(String) as unknown,
      session_id: 'e2e-session-1',
      view_id: 'view-1',
      url,
      url_path: '/checkout',
      service: 'shop-web',
      release: '2026.11.1',
      user_agent: CHROME_MAC,
      browser_name: 'Chrome',
      browser_version: '126.0.0.0',
      os_name: 'Mac OS',
      os_version: '10.15.7',
      device_type: '',
      country: 'US',
      city: 'Mountain View',
    };
    expect(rows).toEqual([
      expect.objectContaining({
        ...browser,
        type: 'error',
        message: 'no account for [REDACTED:email]',
        error_type: 'TypeError',
        stack: 'TypeError: no account\n    at pay (checkout.js:10:5)',
        attributes: '{"component":"payment-form"}',
      }),
      expect.objectContaining({
        ...browser,
        type: 'page_view',
        referrer: 'https://shop.example/cart',
        title: 'Checkout',
        name: '',
        value: null,
      }),
      expect.objectContaining({ ...browser, type: 'web_vital', name: 'LCP', value: 1830.5 }),
    ]);
    // An IP address is personal data: located, then dropped.
    expect(columns.filter((column) => /addr|ip/.test(column))).toEqual([]);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(CLIENT);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain('jane.doe');
  });
});
