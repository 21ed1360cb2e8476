import { randomBytes } from 'node:crypto';
import Long from 'long';
import { expect } from 'vitest';
import { opentelemetry } from '../../src/otlp/generated/otlp.js';
import { post } from '../harness/otlp-requests.js';

/** OTLP's Status.StatusCode.STATUS_CODE_ERROR. */
const STATUS_ERROR = 2;

/**
 * Sends one trace of `spans` server spans of `service` over OTLP/HTTP, the first `errors` of
 * them with an error status, each 20 ms long and started within the last seconds.
 */
export async function sendServiceSpans(
  ingestUrl: string,
  key: string,
  service: string,
  spans: number,
  errors: number,
): Promise<void> {
  const startNs = BigInt(Date.now() - 3_000) * 1_000_000n;
  const traceId = randomBytes(16);
  const body = opentelemetry.proto.collector.v1.ExportTraceServiceRequest.encode({
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeSpans: [
          {
            spans: Array.from({ length: spans }, (_, i) => {
              const start = startNs + BigInt(i) * 1_000_000n;
              return {
                traceId,
                spanId: randomBytes(8),
                name: 'GET /checkout',
                kind: 2,
                startTimeUnixNano: Long.fromString(String(start), true),
                endTimeUnixNano: Long.fromString(String(start + 20_000_000n), true),
                status: i < errors ? { code: STATUS_ERROR, message: 'boom' } : {},
              };
            }),
          },
        ],
      },
    ],
  }).finish();
  const response = await post(`${ingestUrl}/v1/traces`, Buffer.from(body), {
    'content-type': 'application/x-protobuf',
    authorization: `Bearer ${key}`,
  });
  expect(response.status, response.body.toString()).toBe(200);
}
