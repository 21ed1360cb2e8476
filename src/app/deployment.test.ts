import { describe, expect, it } from 'vitest';
import { configSchema, type ConfigInput } from '../config/schema.js';
import { SightlineError } from '../core/errors.js';
import { checkDeployment, usesDuckDB } from './deployment.js';

const KAFKA: ConfigInput['bus'] = { type: 'kafka', kafka: { brokers: ['127.0.0.1:9092'] } };
const PG: ConfigInput['control'] = { type: 'postgres', postgres: { url: 'postgresql://u:p@db/sightline' } };

function problems(input: ConfigInput): string {
  try {
    checkDeployment(configSchema.parse(input));
    return 'ok';
  } catch (error) {
    if (!(error instanceof SightlineError)) throw error;
    expect(error.code).toBe('SL_ERR_CONFIG_INVALID');
    return error.message;
  }
}

describe('checkDeployment', () => {
  it('accepts the embedded default and the documented 3-process shape', () => {
    expect(problems({})).toBe('ok');
    expect(problems({ roles: ['gateway'], bus: KAFKA, control: PG })).toBe('ok');
    expect(problems({ roles: ['processor', 'api'], bus: KAFKA, control: PG })).toBe('ok');
    expect(problems({ roles: ['collector'], bus: KAFKA, control: PG })).toBe('ok');
    expect(problems({ bus: KAFKA })).toBe('ok');
  });

  it.each([
    [{ roles: ['gateway'] }, /need a bus other processes reach: set bus.type: kafka/],
    [
      { roles: ['gateway'], bus: KAFKA },
      /need orgs and keys every process reads: set control.type: postgres/,
    ],
    [
      { roles: ['processor'], bus: KAFKA, control: PG },
      /processor and api roles must run in the same process/,
    ],
    [{ roles: ['api'], bus: KAFKA, control: PG }, /processor and api roles must run in the same process/],
    [{ bus: { type: 'kafka' } }, /bus\.type kafka needs bus\.kafka\.brokers/],
    [{ control: { type: 'postgres' } }, /control\.type postgres needs control\.postgres\.url/],
  ] as Array<[ConfigInput, RegExp]>)('refuses %j saying what to set', (input, message) => {
    expect(problems(input)).toMatch(message);
  });

  it('says which processes open the DuckDB file', () => {
    expect(usesDuckDB(configSchema.parse({}))).toBe(true);
    expect(usesDuckDB(configSchema.parse({ roles: ['gateway'], bus: KAFKA, control: PG }))).toBe(false);
    expect(usesDuckDB(configSchema.parse({ roles: ['processor', 'api'], bus: KAFKA, control: PG }))).toBe(
      true,
    );
  });
});
