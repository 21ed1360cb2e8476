import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer } from '@platformatic/kafka';
import { inject } from 'vitest';
import { kafkaGroupId } from '../../src/bus/kafka.js';
import { TOPICS } from '../../src/bus/topics.js';
import { PROCESSOR_GROUP } from '../../src/process/processor.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startClickhouse } from './clickhouse.js';
import { startKafka } from './kafka.js';
import { startPostgres } from './postgres.js';
import { scaleOutConfigYaml, scaleOutServicesMissing } from './scale-out-services.js';
import {
  newDataDir,
  startSightlineProcess,
  testKey,
  type SightlineProcess,
  type StartOptions,
} from './sightline.js';

/**
 * The vitest project `scale-out` (vitest.config.ts) runs the end-to-end suites written against
 * one `sightline start` (sightline-suite.ts) on three processes instead — a gateway, a processor
 * and an API — on a real Kafka, PostgreSQL and ClickHouse of their own. The project `embedded`
 * runs them on one embedded process.
 *
 * Embedded, a record is queryable once its request was acknowledged; in scale-out it is on Kafka
 * then, and stored a moment later. The suites read what they just wrote, so here the API is
 * reached through a proxy that first waits for the processor to catch up: every processor
 * group's committed offsets (committed only after the store write) up to the topics' end
 * offsets as they were when the request came. The product is not changed for the tests.
 */
export type E2eShape = 'embedded' | 'scale-out';

declare module 'vitest' {
  export interface ProvidedContext {
    e2eShape: E2eShape;
  }
}

export function e2eShape(): E2eShape {
  return inject('e2eShape');
}

/** What the suites use of a running Sightline, whichever its shape. */
export interface SightlineDeployment {
  /** The gateway: OTLP, remote write, RUM. */
  ingestUrl: string;
  /** The query API. */
  apiUrl: string;
  /** Where `/metrics` shows the pipeline's counters (dedupe, redactions, limits): the processor's. */
  processorMetricsUrl: string;
  /** Where `/metrics` shows the ingest counters (accepted, rejected, HTTP errors): the gateway's. */
  gatewayMetricsUrl: string;
  key: string;
  /** Resident set size now and at its peak of the process that takes ingest (the gateway), in bytes. */
  memory(): { rss: number; peak: number };
  /** Stops every process (SIGTERM) and what they ran on; the highest exit code, 0 when all stopped cleanly. */
  stop(): Promise<number | null>;
  cleanup(): void;
}

export function embeddedDeployment(server: SightlineProcess): SightlineDeployment {
  return {
    ingestUrl: server.ingestUrl,
    apiUrl: server.apiUrl,
    processorMetricsUrl: server.apiUrl,
    gatewayMetricsUrl: server.apiUrl,
    key: server.key,
    memory: () => server.memory(),
    stop: () => server.stop(),
    cleanup: () => server.cleanup(),
  };
}

/**
 * A gateway, a processor and an API process sharing nothing but a Kafka, a PostgreSQL and a
 * ClickHouse started for them. `options.env` and `options.key` go to all three; `options.args`
 * is refused (each process gets its own config and role).
 */
export async function startScaleOutDeployment(options: StartOptions = {}): Promise<SightlineDeployment> {
  const missing = scaleOutServicesMissing();
  if (missing !== undefined) throw new Error(`the scale-out shape needs ${missing}`);
  if (options.args !== undefined || options.dataDir !== undefined) {
    throw new Error('a scale-out deployment sets each process its own args and data dir; pass env instead');
  }
  const [kafka, postgres, clickhouse] = await Promise.all([startKafka(), startPostgres(), startClickhouse()]);
  const configDir = mkdtempSync(join(tmpdir(), 'sightline-shape-'));
  const configFile = join(configDir, 'sightline.yaml');
  writeFileSync(
    configFile,
    scaleOutConfigYaml({
      kafkaBootstrap: kafka.bootstrap,
      postgresUrl: postgres.url,
      clickhouseUrl: clickhouse.url,
      sessionTimeoutSeconds: 6,
    }),
  );
  const key = options.key ?? testKey();
  const processes: SightlineProcess[] = [];
  const stopServices = async (): Promise<void> => {
    await Promise.all([kafka.stop(), postgres.stop(), clickhouse.stop()]);
    rmSync(configDir, { recursive: true, force: true });
  };
  try {
    // Together, as a deployment starts: migrations and the bootstrap are safe to race.
    const starting = (['processor', 'api', 'gateway'] as const).map((role) =>
      startSightlineProcess({
        ...options,
        key,
        dataDir: newDataDir(),
        args: ['--config', configFile, '--role', role],
      }),
    );
    const settled = await Promise.allSettled(starting);
    for (const result of settled) if (result.status === 'fulfilled') processes.push(result.value);
    const failed = settled.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  } catch (error) {
    for (const started of processes) {
      await started.stop('SIGKILL');
      started.cleanup();
    }
    await stopServices();
    throw error;
  }
  const [processor, api, gateway] = processes as [SightlineProcess, SightlineProcess, SightlineProcess];
  const catchUp = new CatchUp(kafka.bootstrap);
  // Reads of stored data wait; the API process's own endpoints (/metrics, /readyz) answer at once.
  const proxy = await catchUpProxy(api.apiUrl, catchUp, (path) => /^\/(api|prometheus)\//.test(path));
  // The processor's /metrics counts what it handled: it waits too.
  const processorProxy = await catchUpProxy(processor.opsUrl, catchUp, () => true);
  let stopped: Promise<number | null> | undefined;
  return {
    ingestUrl: gateway.ingestUrl,
    apiUrl: proxy.url,
    processorMetricsUrl: processorProxy.url,
    gatewayMetricsUrl: gateway.opsUrl,
    key,
    memory: () => gateway.memory(),
    // The gateway first, so what it acknowledged is on Kafka before the processor drains.
    stop: () =>
      (stopped ??= (async () => {
        for (const { server } of [proxy, processorProxy]) {
          const closed = new Promise((done) => server.close(done));
          server.closeAllConnections();
          await closed;
        }
        await catchUp.close();
        const codes: Array<number | null> = [];
        for (const process of [gateway, processor, api]) codes.push(await process.stop());
        await stopServices();
        return codes.every((code) => code === 0) ? 0 : (codes.find((code) => code !== 0) ?? null);
      })()),
    cleanup: () => {
      for (const process of processes) process.cleanup();
    },
  };
}

/** The topics the processor consumes, each with its own consumer group (src/bus/kafka.ts). */
const PROCESSED_TOPICS = Object.values(TOPICS).filter((topic) => topic !== TOPICS.deadLetter);

/** Waits until the processor has stored everything on Kafka now. */
class CatchUp {
  private readonly clients: Array<{ topic: string; client: Consumer }>;

  constructor(bootstrap: string) {
    this.clients = PROCESSED_TOPICS.map((topic) => ({
      topic,
      // Only asks for offsets: a client that never consumes does not join the group.
      client: new Consumer({
        clientId: 'e2e-catch-up',
        bootstrapBrokers: [bootstrap],
        groupId: kafkaGroupId({ group: PROCESSOR_GROUP, topic }),
      }),
    }));
  }

  async wait(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const targets = await Promise.all(
      this.clients.map(
        async ({ topic, client }) => (await client.listOffsets({ topics: [topic] })).get(topic) ?? [],
      ),
    );
    for (;;) {
      const behind = await Promise.all(
        this.clients.map(async ({ topic, client }, i) => {
          const end = targets[i] ?? [];
          const committed =
            (
              await client.listCommittedOffsets({
                topics: [{ topic, partitions: end.map((_, partition) => partition) }],
              })
            ).get(topic) ?? [];
          // -1: nothing committed yet, which is caught up while the partition is empty.
          return end.some((offset, partition) => {
            const done = committed[partition] ?? -1n;
            return (done < 0n ? 0n : done) < offset;
          });
        }),
      );
      if (!behind.includes(true)) return;
      if (Date.now() > deadline) throw new Error(`the processor did not catch up within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map(({ client }) => client.close()));
  }
}

/** Forwards requests to `targetUrl`, those `waitsFor` picks once the processor caught up with what was on Kafka when they came. */
async function catchUpProxy(
  targetUrl: string,
  catchUp: CatchUp,
  waitsFor: (path: string) => boolean,
): Promise<{ url: string; server: Server }> {
  const upstream = new URL(targetUrl);
  const server = createServer((request, response) => {
    (waitsFor(request.url ?? '') ? catchUp.wait() : Promise.resolve()).then(
      () => {
        const forwarded = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            path: request.url,
            method: request.method,
            headers: request.headers,
          },
          (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          },
        );
        forwarded.on('error', (error) => response.destroy(error));
        response.on('close', () => forwarded.destroy());
        request.pipe(forwarded);
      },
      (error: unknown) => {
        response.writeHead(504, { 'content-type': 'text/plain' });
        response.end(String(error));
      },
    );
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
