import type { StageConfig } from '../../config/schema.js';
import { StageChain, type StageTimer } from './chain.js';
import { createDedupeStage } from './dedupe.js';
import { createEnrichStage } from './enrich.js';
import { createLimitStage, type LimitDeps } from './limit.js';
import { createRedactStage } from './redact.js';
import { createSampleStage, type SampleDeps } from './sample.js';

/** What stages need from the process around them: self-metrics, the limits' state at start. */
export interface StageDeps {
  sample?: SampleDeps;
  limit?: LimitDeps;
}

/** The processor's stage chain as configured (`processor.stages`). */
export function createStageChain(
  stages: readonly StageConfig[],
  timer?: StageTimer,
  deps: StageDeps = {},
): StageChain {
  return new StageChain(
    stages,
    {
      enrich: (options) => createEnrichStage(options),
      redact: createRedactStage,
      dedupe: createDedupeStage,
      sample: (options) => createSampleStage(options, deps.sample),
      limit: (options) => createLimitStage(options, deps.limit),
    },
    timer,
  );
}
