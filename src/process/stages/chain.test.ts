import { describe, expect, it } from 'vitest';
import { logRow } from '../../../test/fixtures/rows.js';
import { RecordingContext, batchOf } from '../../../test/helpers/stage-context.js';
import { stageConfigSchema, type StageConfig } from '../../config/schema.js';
import { orgId } from '../../store/rows.js';
import { StageChain, type StageFactories } from './chain.js';
import type { Processor } from './processor.js';

/** Stages that append their name (and an option) to each log body, so order and options show. */
function tagging(): StageFactories {
  const make = (name: string) => (options: object) =>
    ({
      name,
      process: (batch) => ({
        ...batch,
        logs: batch.logs.map((log) => ({
          ...log,
          body: `${log.body}>${name}${JSON.stringify(options).length}`,
        })),
      }),
    }) satisfies Processor;
  return {
    enrich: make('enrich'),
    redact: make('redact'),
    dedupe: make('dedupe'),
    sample: make('sample'),
    limit: make('limit'),
  };
}

const stages = (configs: object[]): StageConfig[] => configs.map((c) => stageConfigSchema.parse(c));

describe('StageChain', () => {
  it('runs the enabled stages in the configured order and times each', () => {
    const timed: string[] = [];
    const chain = new StageChain(
      stages([{ type: 'redact' }, { type: 'sample', enabled: false }, { type: 'dedupe' }]),
      tagging(),
      { observe: (stage) => timed.push(stage) },
    );
    const out = chain.run(batchOf({ logs: [logRow({ body: 'x' })] }), new RecordingContext());
    expect(out.logs[0]?.body).toMatch(/^x>redact\d+>dedupe\d+$/);
    expect(timed).toEqual(['redact', 'dedupe']);
  });

  it('applies an org override over the stage options, and switches a stage off for one org', () => {
    const chain = new StageChain(
      stages([
        { type: 'dedupe', orgs: { org_b: { windowSeconds: 5 }, org_c: { enabled: false } } },
        { type: 'redact' },
      ]),
      tagging(),
    );
    const names = (org: string) => chain.forOrg(orgId(org)).map((p) => p.name);
    expect(names('org_a')).toEqual(['dedupe', 'redact']);
    expect(names('org_c')).toEqual(['redact']);
    const [forA] = chain.forOrg(orgId('org_a'));
    const [forB] = chain.forOrg(orgId('org_b'));
    // One instance per org, made once.
    expect(chain.forOrg(orgId('org_a'))[0]).toBe(forA);
    expect(forB).not.toBe(forA);
  });
});
