import type { StageConfig } from '../../config/schema.js';
import type { OrgId } from '../../store/rows.js';
import type { Processor, RowBatch, StageContext } from './processor.js';

type StageType = StageConfig['type'];
type OptionsOf<T extends StageType> = Omit<Extract<StageConfig, { type: T }>, 'orgs'>;

/** How each type of stage is made from its (org-merged) options. */
export type StageFactories = { [T in StageType]: (options: OptionsOf<T>) => Processor };

/** Where the chain reports the time each stage takes, for the self-metrics and the benchmark. */
export interface StageTimer {
  observe(stage: string, seconds: number): void;
}

/**
 * The configured stages, in order, for each org: an org's overrides are merged over the stage's
 * options, and a stage an org switches off is left out. Stages are made once per org, so what a
 * stage remembers (a dedupe window, a rate) is per org.
 */
export class StageChain {
  private readonly perOrg = new Map<OrgId, readonly Processor[]>();

  constructor(
    private readonly stages: readonly StageConfig[],
    private readonly factories: StageFactories,
    private readonly timer?: StageTimer,
  ) {}

  forOrg(org: OrgId): readonly Processor[] {
    let processors = this.perOrg.get(org);
    if (processors === undefined) {
      processors = this.stages.flatMap((stage) => {
        const { orgs, ...defaults } = stage;
        const options = { ...defaults, ...orgs[org] } as OptionsOf<typeof stage.type>;
        if (!options.enabled) return [];
        const create = this.factories[stage.type] as (options: OptionsOf<typeof stage.type>) => Processor;
        return [create(options)];
      });
      this.perOrg.set(org, processors);
    }
    return processors;
  }

  run(batch: RowBatch, context: StageContext): RowBatch {
    let rows = batch;
    for (const processor of this.forOrg(context.orgId)) {
      const started = performance.now();
      rows = processor.process(rows, context);
      this.timer?.observe(processor.name, (performance.now() - started) / 1000);
    }
    return rows;
  }
}
