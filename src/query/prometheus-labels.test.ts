import { describe, expect, it } from 'vitest';
import type { StoredSeriesMeta } from '../store/store.js';
import { promLabelName, promMetricName, promNamesOf, seriesLabels } from './prometheus-labels.js';

const meta = (overrides: Partial<StoredSeriesMeta>): StoredSeriesMeta => ({
  seriesId: 's',
  name: 'm',
  kind: 'gauge',
  unit: '',
  temporality: '',
  monotonic: false,
  service: '',
  host: '',
  entityId: '',
  labels: '{}',
  ...overrides,
});

describe('Prometheus names of stored metrics', () => {
  it.each([
    ['http.server.duration', 'http_server_duration'],
    ['node_cpu_seconds_total', 'node_cpu_seconds_total'],
    ['ns:rule:rate5m', 'ns:rule:rate5m'],
    ['db.client-connections/usage', 'db_client_connections_usage'],
    ['9lives', '_9lives'],
    ['größe', 'gr__e'],
  ])('metric %s → %s', (stored, expected) => {
    expect(promMetricName(stored)).toBe(expected);
  });

  it.each([
    ['db.name', 'db_name'],
    ['http.route', 'http_route'],
    ['le', 'le'],
    ['1st', 'key_1st'],
    ['a:b', 'a_b'],
  ])('label %s → %s', (key, expected) => {
    expect(promLabelName(key)).toBe(expected);
  });

  it('a histogram is three metrics, anything else one', () => {
    const entry = { name: 'rpc.duration', unit: 's', temporality: 'cumulative', monotonic: false } as const;
    expect(promNamesOf({ ...entry, kind: 'histogram' }).map((n) => [n.name, n.part])).toEqual([
      ['rpc_duration_bucket', 'bucket'],
      ['rpc_duration_count', 'count'],
      ['rpc_duration_sum', 'sum'],
    ]);
    expect(promNamesOf({ ...entry, kind: 'sum' }).map((n) => n.name)).toEqual(['rpc_duration']);
  });
});

describe('seriesLabels', () => {
  it('adds job, instance and entity_id from the resource unless the point has them', () => {
    expect(
      seriesLabels(
        meta({ service: 'api', host: 'web-1', entityId: 'postgresql:main', labels: '{"db.name":"x"}' }),
      ),
    ).toEqual({ db_name: 'x', job: 'api', instance: 'web-1', entity_id: 'postgresql:main' });
    expect(seriesLabels(meta({ service: 'api', host: 'h', entityId: 'service/api' }))).toEqual({
      job: 'api',
      instance: 'h',
    });
    expect(seriesLabels(meta({ host: 'h', entityId: 'host/h' }))).toEqual({ instance: 'h' });
    expect(seriesLabels(meta({ service: 'api', labels: '{"job":"node","instance":"a:9100"}' }))).toEqual({
      job: 'node',
      instance: 'a:9100',
    });
  });

  it('turns numbers, booleans and nested values into text and drops empty values', () => {
    expect(seriesLabels(meta({ labels: '{"code":200,"ok":true,"tags":["a"],"empty":""}' }))).toEqual({
      code: '200',
      ok: 'true',
      tags: '["a"]',
    });
  });

  it('survives labels that are not a JSON object', () => {
    expect(seriesLabels(meta({ labels: 'not json' }))).toEqual({});
    expect(seriesLabels(meta({ labels: '[1,2]' }))).toEqual({});
  });
});
