import { request as httpRequest } from 'node:http';
import { createGzip } from 'node:zlib';
import Long from 'long';
import { opentelemetry } from '../../src/otlp/generated/otlp.js';

/** Raw OTLP/HTTP requests, for the cases an SDK would never send. */

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * POSTs with node:http rather than fetch: a server may answer (413) and close before the
 * body is fully sent, and the test needs that answer rather than the write error.
 */
export function post(url: string, body: Buffer, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-length': String(body.length), ...headers },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    req.end(body);
  });
}

export function logsRequestBody(bodies: readonly string[], service = 'good-client'): Buffer {
  const now = Long.fromString(String(BigInt(Date.now()) * 1_000_000n), true);
  const message = opentelemetry.proto.collector.v1.ExportLogsServiceRequest.encode({
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
        scopeLogs: [
          {
            logRecords: bodies.map((body, i) => ({
              timeUnixNano: now.add(i),
              severityNumber: 9,
              severityText: 'INFO',
              body: { stringValue: body },
            })),
          },
        ],
      },
    ],
  }).finish();
  return Buffer.from(message);
}

/** JSON log records whose attribute value nests `depth` levels deep (kvlist in kvlist …). */
export function nestedAttributeJson(depth: number, service: string, extraBodies: readonly string[]): Buffer {
  let value = '{"stringValue":"leaf"}';
  for (let i = 1; i < depth; i++) value = `{"kvlistValue":{"values":[{"key":"k","value":${value}}]}}`;
  const now = String(BigInt(Date.now()) * 1_000_000n);
  const records = [
    `{"timeUnixNano":"${now}","body":{"stringValue":"nested"},"attributes":[{"key":"deep","value":${value}}]}`,
    ...extraBodies.map(
      (b, i) =>
        `{"timeUnixNano":"${BigInt(now) + BigInt(i + 1)}","body":{"stringValue":${JSON.stringify(b)}}}`,
    ),
  ];
  return Buffer.from(
    `{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"${service}"}}]},` +
      `"scopeLogs":[{"logRecords":[${records.join(',')}]}]}]}`,
  );
}

/** gzip of `inflatedBytes` zero bytes, made in a stream so the test itself stays small. */
export async function gzipBomb(inflatedBytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const chunks: Buffer[] = [];
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
  const done = new Promise<void>((resolve) => gzip.on('end', resolve));
  const block = Buffer.alloc(1024 * 1024);
  for (let written = 0; written < inflatedBytes; written += block.length) {
    if (!gzip.write(block)) await new Promise((resolve) => gzip.once('drain', resolve));
  }
  gzip.end();
  await done;
  return Buffer.concat(chunks);
}
