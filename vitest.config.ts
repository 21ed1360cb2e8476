import { defineConfig } from 'vitest/config';
import { scaleOutServicesMissing } from './test/harness/scale-out-services.js';

/**
 * The Foundation's end-to-end suites and those of the query API and pipeline, run a second time
 * on a scale-out deployment: gateway, processor and api as three processes on Kafka, PostgreSQL
 * and ClickHouse (test/harness/scale-out.ts). They use `sightlineForSuite`, which reads the
 * shape this project provides.
 */
const SCALE_OUT_SUITES = [
  'test/e2e/otel-sdk.test.ts',
  'test/e2e/bad-input.test.ts',
  'test/e2e/log-search.test.ts',
  'test/e2e/log-tail.test.ts',
  'test/e2e/traces.test.ts',
  'test/e2e/prometheus-api.test.ts',
  'test/e2e/promql-compat.test.ts',
  'test/e2e/remote-write.test.ts',
  'test/e2e/pipeline-dedupe.test.ts',
  'test/e2e/pipeline-enrich.test.ts',
  'test/e2e/pipeline-redact.test.ts',
  'test/e2e/openapi.test.ts',
  'test/e2e/pipeline-shapes.test.ts',
];

/**
 * In CI a missing service fails the run (test/harness/service-missing.ts says why); on a
 * developer's machine without Kafka, PostgreSQL or ClickHouse the scale-out project is left out.
 */
const missing = scaleOutServicesMissing();
if (missing !== undefined && process.env.CI !== 'true') {
  console.warn(`[sightline tests] leaving out the scale-out project: it needs ${missing}.`);
}
const scaleOut = missing === undefined || process.env.CI === 'true';

export default defineConfig({
  test: {
    // Integration and end-to-end tests start real servers and child processes.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'embedded',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts', 'ui/src/**/*.test.ts'],
          provide: { e2eShape: 'embedded' as const },
        },
      },
      ...(scaleOut
        ? [
            {
              extends: true as const,
              test: {
                name: 'scale-out',
                include: SCALE_OUT_SUITES,
                provide: { e2eShape: 'scale-out' as const },
              },
            },
          ]
        : []),
    ],
  },
});
