import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Producer } from '@platformatic/kafka';
import { vi } from 'vitest';
import { TOPICS } from '../../src/bus/topics.js';
import { ApiClient } from '../harness/api-client.js';
import { startKafka, type KafkaInstance } from '../harness/kafka.js';
import { logsRequestBody, post } from '../harness/otlp-requests.js';
import { newDataDir, startSightlineProcess, type SightlineProcess } from '../harness/sightline.js';

/** A raw-queries record a third-party collector got wrong: it says not what kind of record it is. */
export const POISON_RECORD = '{"fingerprint":"fp-poison","calls":"three"}';
/** What the processor says about it (src/bus/raw-records.ts checks the `type` first). */
export const POISON_REASON =
  "not a valid raw-queries record: type: Invalid discriminator value. Expected 'query_stats' | 'query_sample'";

export interface PoisonedPipeline {
  kafka: KafkaInstance;
  sightline: SightlineProcess;
  api: ApiClient;
  orgId: string;
  /** Log records accepted by the gateway (OTLP over HTTP). */
  logsSent: number;
  stop(): Promise<void>;
}

interface DeadLetterPage {
  data: Array<{ reason: string; sourceTopic: string }>;
}

/**
 * `sightline start` with every role in one process on a real Kafka broker (the store and the
 * control plane stay DuckDB), fed valid OTLP logs through the gateway and one malformed
 * raw-queries record produced straight onto Kafka, as a collector of another make would: the
 * gateway checks what comes over HTTP, so the bus is where a poison message gets in. Resolves
 * once the processor has stored the logs and the dead letter and usage_daily has the logs.
 */
export async function startPoisonedPipeline(logsSent = 12): Promise<PoisonedPipeline> {
  const kafka = await startKafka();
  let sightline: SightlineProcess | undefined;
  try {
    const dataDir = newDataDir();
    const configFile = join(dataDir, 'sightline.yaml');
    writeFileSync(
      configFile,
      ['bus:', '  type: kafka', '  kafka:', `    brokers: ["${kafka.bootstrap}"]`, ''].join('\n'),
    );
    sightline = await startSightlineProcess({ dataDir, args: ['--config', configFile] });
    const api = new ApiClient(sightline.apiUrl, sightline.key);
    const me = await api.get<{ org: { id: string } }>('/api/v1/auth/me');
    const orgId = me.body.org.id;

    const bodies = Array.from({ length: logsSent }, (_, i) => `pipeline screen log ${i}`);
    for (const chunk of [bodies.slice(0, logsSent / 2), bodies.slice(logsSent / 2)]) {
      const response = await post(`${sightline.ingestUrl}/v1/logs`, logsRequestBody(chunk, 'pipeline-e2e'), {
        'content-type': 'application/x-protobuf',
        authorization: `Bearer ${sightline.key}`,
      });
      if (response.status !== 200) throw new Error(`ingest answered ${response.status}`);
    }
    const producer = new Producer({ clientId: 'third-party-collector', bootstrapBrokers: [kafka.bootstrap] });
    try {
      await producer.send({
        messages: [
          {
            topic: TOPICS.rawQueries,
            key: Buffer.from('pg-elsewhere'),
            value: Buffer.from(POISON_RECORD),
            headers: new Map([
              [Buffer.from('org-id'), Buffer.from(orgId)],
              [Buffer.from('content-type'), Buffer.from('application/json')],
            ]),
          },
        ],
      });
    } finally {
      await producer.close();
    }

    await vi.waitUntil(
      async () => {
        const dead = await api.get<DeadLetterPage>('/api/v1/dead-letters');
        const usage = await api.get<{ totals: Array<{ signal: string; records: number }> }>('/api/v1/usage');
        const logs = usage.body.totals.find((t) => t.signal === 'logs')?.records ?? 0;
        return dead.body.data.some((d) => d.sourceTopic === 'raw-queries') && logs >= logsSent;
      },
      // usage_daily is flushed every 10 s.
      { timeout: 60_000, interval: 500 },
    );
    const started = sightline;
    return {
      kafka,
      sightline: started,
      api,
      orgId,
      logsSent,
      stop: async () => {
        await started.stop();
        started.cleanup();
        await kafka.stop();
      },
    };
  } catch (error) {
    if (sightline !== undefined) {
      await sightline.stop();
      sightline.cleanup();
    }
    await kafka.stop();
    throw error;
  }
}
