import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PROMETHEUS_INSTALL_HINT,
  prometheusAvailable,
  startPrometheus,
  type PrometheusInstance,
} from '../harness/prometheus.js';
import { requireService } from '../harness/service-missing.js';
import { sightlineForSuite } from '../harness/sightline-suite.js';
import { sendRemoteWrite, type SeriesSamples } from '../helpers/remote-write.js';

const available = requireService('Prometheus', prometheusAvailable(), PROMETHEUS_INSTALL_HINT);

interface MetricsAnswer {
  series: Array<{
    name: string;
    kind: string;
    service: string;
    labels: Record<string, string>;
    resource: Record<string, string>;
    points: Array<[number, number]>;
  }>;
}

describe('Prometheus remote write into `sightline start`', () => {
  const sightline = sightlineForSuite();
  const writeUrl = (): string => `${sightline.server.ingestUrl}/api/v1/write`;
  const metric = async (name: string): Promise<MetricsAnswer['series']> => {
    const { status, body } = await sightline.api.get<MetricsAnswer>(
      `/api/v1/metrics?name=${encodeURIComponent(name)}`,
    );
    expect(status).toBe(200);
    return body.series;
  };

  it('stores the samples of /api/v1/write with their times and values, and its labels as point labels', async () => {
    const start = Date.now() - 60_000;
    const series: SeriesSamples[] = [
      {
        labels: { __name__: 'e2e_requests_total', job: 'shop', instance: 'web-1:8080', code: '200' },
        samples: [
          [start, 10],
          [start + 15_000, 12.5],
          [start + 30_000, 1e15 + 0.5],
        ],
      },
      {
        labels: { __name__: 'e2e_requests_total', job: 'shop', instance: 'web-1:8080', code: '500' },
        samples: [[start + 1, -3.25]],
        staleAt: [start + 30_001],
      },
    ];
    const response = await sendRemoteWrite(writeUrl(), series, { key: sightline.server.key });
    expect(response).toEqual({ status: 204, text: '' });

    const stored = await metric('e2e_requests_total');
    const byCode = new Map(stored.map((s) => [s.labels.code ?? '', s] as const));
    expect([...byCode.keys()].sort()).toEqual(['200', '500']);
    expect(byCode.get('200')).toMatchObject({
      kind: 'gauge',
      service: 'shop',
      labels: { job: 'shop', instance: 'web-1:8080', code: '200' },
      resource: { 'service.name': 'shop', 'service.instance.id': 'web-1:8080' },
      points: [
        [start, 10],
        [start + 15_000, 12.5],
        [start + 30_000, 1e15 + 0.5],
      ],
    });
    // The staleness marker is not a point.
    expect(byCode.get('500')?.points).toEqual([[start + 1, -3.25]]);
  });

  it('answers 4xx with a message to a body that is not snappy, and 401 without a key, storing nothing', async () => {
    const series: SeriesSamples[] = [
      { labels: { __name__: 'e2e_never_stored' }, samples: [[Date.now(), 1]] },
    ];
    const gzip = await sendRemoteWrite(writeUrl(), series, {
      key: sightline.server.key,
      headers: { 'content-encoding': 'gzip' },
    });
    expect(gzip.status).toBe(415);
    expect(gzip.text).toContain('Content-Encoding: snappy');
    const notSnappy = await sendRemoteWrite(writeUrl(), series, {
      key: sightline.server.key,
      body: Buffer.from('this is not snappy'),
    });
    expect(notSnappy.status).toBe(400);
    expect(notSnappy.text).toContain('not snappy block-compressed');
    const anonymous = await sendRemoteWrite(writeUrl(), series);
    expect(anonymous.status).toBe(401);
    expect(await metric('e2e_never_stored')).toEqual([]);
  });

  describe.skipIf(!available)('with a real Prometheus', () => {
    let prometheus: PrometheusInstance | undefined;
    const started = (): PrometheusInstance => {
      if (prometheus === undefined) throw new Error('prometheus is not started');
      return prometheus;
    };
    let apiTarget = '';

    beforeAll(async () => {
      apiTarget = new URL(sightline.server.apiUrl).host;
      const auth = { credentials: sightline.server.key };
      prometheus = await startPrometheus({
        global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
        // Sightline's own /metrics is behind the API key like the rest of the API.
        scrapeConfigs: [
          { job_name: 'sightline', authorization: auth, static_configs: [{ targets: [apiTarget] }] },
        ],
        remoteWrite: [
          {
            url: writeUrl(),
            authorization: auth,
            queue_config: { batch_send_deadline: '1s', min_backoff: '100ms', max_backoff: '1s' },
          },
        ],
      });
    });
    afterAll(async () => {
      await prometheus?.stop();
    });

    it('stores the same samples Prometheus stores when both are sent one request', async () => {
      const start = Date.now() - 120_000;
      const series: SeriesSamples[] = [
        {
          labels: { __name__: 'e2e_same_samples', job: 'batch', instance: 'worker-7', queue: 'mail' },
          samples: Array.from({ length: 8 }, (_, i) => [start + i * 10_000 + i, i * 1.5 - 2] as const),
        },
      ];
      expect((await sendRemoteWrite(started().remoteWriteUrl, series)).status).toBe(204);
      expect((await sendRemoteWrite(writeUrl(), series, { key: sightline.server.key })).status).toBe(204);

      // A range selector in an instant query returns the raw samples Prometheus stored.
      const inPrometheus = await started().query('e2e_same_samples[10m]');
      expect(inPrometheus.result).toHaveLength(1);
      const prometheusPoints = (inPrometheus.result[0]?.values ?? []).map(
        ([t, v]) => [Math.round(t * 1000), Number(v)] as const,
      );
      expect(prometheusPoints).toHaveLength(8);
      const [inSightline] = await metric('e2e_same_samples');
      expect(inSightline?.points).toEqual(prometheusPoints);
      expect(inSightline?.labels).toEqual(
        Object.fromEntries(
          Object.entries(inPrometheus.result[0]?.metric ?? {}).filter(([name]) => name !== '__name__'),
        ),
      );
    });

    it("receives what Prometheus scraped from Sightline's /metrics through remote_write, with job and instance", async () => {
      const deadline = Date.now() + 20_000;
      let up: MetricsAnswer['series'] = [];
      while (Date.now() < deadline) {
        up = (await metric('up')).filter((s) => s.labels.job === 'sightline');
        if (up.some((s) => s.points.length > 0)) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(up, `no up{job="sightline"} in Sightline; Prometheus said:\n${started().output()}`).toHaveLength(
        1,
      );
      expect(up[0]).toMatchObject({
        service: 'sightline',
        labels: { job: 'sightline', instance: apiTarget },
        resource: { 'service.name': 'sightline', 'service.instance.id': apiTarget },
      });
      expect(up[0]?.points.every(([, value]) => value === 1)).toBe(true);
      // The points are samples Prometheus has too, at the same times.
      const [first] = up[0]?.points ?? [];
      const raw = await started().query(`up{job="sightline"}[1m]`);
      const times = (raw.result[0]?.values ?? []).map(([t]) => Math.round(t * 1000));
      expect(times).toContain(first?.[0]);

      // A metric every Sightline process has, whatever its roles.
      const memory = (await metric('sightline_process_resident_memory_bytes')).filter(
        (s) => s.labels.job === 'sightline',
      );
      expect(memory.length).toBeGreaterThan(0);
      expect(memory[0]?.labels).toMatchObject({ instance: apiTarget });
      expect(memory[0]?.points.every(([, bytes]) => bytes > 0)).toBe(true);
    });
  });
});
