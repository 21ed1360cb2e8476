import type { Config, Role } from '../config/schema.js';
import { ROLES } from '../config/schema.js';
import { SightlineError } from '../core/errors.js';

/** Roles that answer to API keys (or, for collectors, publish as the default org). */
const NEEDS_CONTROL: readonly Role[] = ['gateway', 'api', 'collector'];

/**
 * Whether the roles of this process can work with the bus, store and control plane configured:
 * what one process holds (the in-memory bus, the DuckDB file) cannot be shared with another, so
 * roles split across processes need the shared ones. Checked before anything starts, with what
 * to change in the message.
 */
export function checkDeployment(config: Config): void {
  const roles = new Set(config.roles);
  const all = ROLES.every((role) => roles.has(role));
  const has = (role: Role): boolean => roles.has(role);
  const problems: string[] = [];

  if (config.bus.type === 'memory' && !all) {
    problems.push(
      `roles ${config.roles.join(', ')} without the others need a bus other processes reach: ` +
        'set bus.type: kafka and bus.kafka.brokers (the in-memory bus only joins roles of one process)',
    );
  }
  if (config.bus.type === 'kafka' && config.bus.kafka.brokers.length === 0) {
    problems.push('bus.type kafka needs bus.kafka.brokers, e.g. ["kafka-1:9092"]');
  }
  if (config.store.type === 'duckdb' && has('processor') !== has('api')) {
    problems.push(
      'with store.type duckdb the processor and api roles must run in the same process: ' +
        'the DuckDB file opens in one process only',
    );
  }
  if (config.control.type === 'duckdb' && !all && NEEDS_CONTROL.some(has)) {
    problems.push(
      `roles ${config.roles.join(', ')} without the others need orgs and keys every process reads: ` +
        'set control.type: postgres and control.postgres.url',
    );
  }
  if (config.control.type === 'postgres' && config.control.postgres.url === undefined) {
    problems.push(
      'control.type postgres needs control.postgres.url (or SIGHTLINE_CONTROL__POSTGRES__URL), ' +
        'e.g. postgresql://sightline:secret@db:5432/sightline',
    );
  }
  if (problems.length > 0) {
    throw new SightlineError(
      'SL_ERR_CONFIG_INVALID',
      `this process cannot run as configured:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/** Whether this process opens the DuckDB file: for the store, or for the embedded control plane. */
export function usesDuckDB(config: Config): boolean {
  const roles = new Set(config.roles);
  const storeRoles = config.store.type === 'duckdb' && (roles.has('processor') || roles.has('api'));
  const controlRoles = config.control.type === 'duckdb' && NEEDS_CONTROL.some((role) => roles.has(role));
  return storeRoles || controlRoles;
}
