import { describe, expect, it } from 'vitest';
import { sightlineForSuite } from '../harness/sightline-suite.js';

interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
}

describe('GET /api/v1/openapi.json from `sightline start`', () => {
  const sightline = sightlineForSuite();

  it('serves the OpenAPI 3.1 document without a key, with the query routes and the bearer key scheme', async () => {
    const response = await fetch(`${sightline.server.apiUrl}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = (await response.json()) as OpenApiDocument;
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Sightline query API');
    expect(doc.components.securitySchemes.bearerKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, method] of [
      ['/api/v1/logs', 'get'],
      ['/api/v1/logs/search', 'post'],
      ['/api/v1/traces/{traceId}', 'get'],
      ['/api/v1/traces/search', 'post'],
      ['/api/v1/metrics', 'get'],
      ['/api/v1/databases/{id}', 'get'],
      ['/api/v1/queries/{fingerprint}', 'get'],
    ] as const) {
      const operation = doc.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation?.responses['200'], `${method} ${path}`).toBeDefined();
    }
    // The UI's start page is not part of the API.
    expect(doc.paths['/']).toBeUndefined();
  });

  it('describes the routes the server answers: a documented keyed route wants the key, a public one does not', async () => {
    const doc = (await (
      await fetch(`${sightline.server.apiUrl}/api/v1/openapi.json`)
    ).json()) as OpenApiDocument;
    const withoutKey = await fetch(`${sightline.server.apiUrl}/api/v1/stats`);
    expect(withoutKey.status).toBe(401);
    expect(doc.paths['/api/v1/stats']?.get?.security).toBeUndefined();
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    expect((await fetch(`${sightline.server.apiUrl}/healthz`)).status).toBe(200);
    const withKey = await sightline.api.get<Record<string, number>>('/api/v1/stats');
    expect(withKey.status).toBe(200);
    expect(typeof withKey.body.logs).toBe('number');
  });
});
