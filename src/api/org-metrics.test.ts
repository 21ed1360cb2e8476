import { describe, expect, it } from 'vitest';
import type { OrgId } from '../store/rows.js';
import { metricsForOrg } from './org-metrics.js';

const EXPOSITION = [
  '# HELP sightline_ingest_records_total Records accepted.',
  '# TYPE sightline_ingest_records_total counter',
  'sightline_ingest_records_total{org="org_a",signal="logs"} 5',
  'sightline_ingest_records_total{signal="logs",org="org_b"} 7',
  'sightline_ingest_records_total{org="org_ab",signal="logs"} 9',
  '# TYPE process_cpu_seconds_total counter',
  'process_cpu_seconds_total 1.5',
  'sightline_bus_pending_messages{topic="otel-logs"} 0',
  'sightline_other{organisation="org_b"} 1',
  '',
].join('\n');

describe('metricsForOrg', () => {
  it("keeps the caller's and process-wide samples and drops every other org's", () => {
    expect(metricsForOrg(EXPOSITION, 'org_a' as OrgId).split('\n')).toEqual([
      '# HELP sightline_ingest_records_total Records accepted.',
      '# TYPE sightline_ingest_records_total counter',
      'sightline_ingest_records_total{org="org_a",signal="logs"} 5',
      '# TYPE process_cpu_seconds_total counter',
      'process_cpu_seconds_total 1.5',
      'sightline_bus_pending_messages{topic="otel-logs"} 0',
      'sightline_other{organisation="org_b"} 1',
      '',
    ]);
  });

  it('matches the org label exactly, wherever it stands among the labels', () => {
    const forB = metricsForOrg(EXPOSITION, 'org_b' as OrgId);
    expect(forB).toContain('sightline_ingest_records_total{signal="logs",org="org_b"} 7');
    expect(forB).not.toContain('org_a"');
    expect(forB).not.toContain('org_ab');
  });
});
