import { describe, expect, it } from 'vitest';
import { sightlineForSuite } from '../harness/sightline-suite.js';
import { logsPipeline } from '../harness/otel-sdk.js';

const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 14_7_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.1.2 Mobile/15E148 Safari/604.1';

describe('the enrich stage of `sightline start` (default pipeline)', () => {
  const sightline = sightlineForSuite();

  it('returns logs with the client location, the parsed user agent and the database they talk to', async () => {
    const service = 'enrich-e2e';
    const { provider, logger, tally, SeverityNumber } = logsPipeline(
      sightline.server.ingestUrl,
      sightline.server.key,
      'proto',
      service,
    );
    const emit = (body: string, attributes: Record<string, string | number>): void =>
      logger.emit({ body, severityNumber: SeverityNumber.INFO, severityText: 'INFO', attributes });
    emit('public client', { 'client.address': '8.8.8.8', 'user_agent.original': SAFARI_IPHONE });
    emit('private client', { 'client.address': '10.1.2.3', 'http.route': '/health' });
    emit('slow query', {
      'db.system': 'postgresql',
      'server.address': 'db.internal',
      'server.port': 5433,
      'db.statement': 'SELECT 1',
    });
    await provider.forceFlush();
    expect(tally).toMatchObject({ succeeded: 3, failed: 0 });

    const logs = await sightline.api.logs({ q: `service:${service}`, limit: '100' });
    const byBody = new Map(logs.map((log) => [log.body, log]));
    expect(byBody.get('public client')?.attributes).toEqual({
      'client.address': '8.8.8.8',
      'user_agent.original': SAFARI_IPHONE,
      'geo.country.iso_code': 'US',
      'geo.locality.name': 'Mountain View',
      'user_agent.name': 'Mobile Safari',
      'user_agent.version': '14.1.2',
      'user_agent.os.name': 'iOS',
      'user_agent.os.version': '14.7.1',
      'user_agent.device.type': 'mobile',
    });
    // A private address has no place on a map: the record is stored as sent.
    expect(byBody.get('private client')?.attributes).toEqual({
      'client.address': '10.1.2.3',
      'http.route': '/health',
    });
    // The entity id the PostgreSQL collector gives an unnamed target on db.internal:5433.
    expect(byBody.get('slow query')).toMatchObject({ entityId: 'pg:db.internal-5433', service });
    await provider.shutdown();
  });
});
