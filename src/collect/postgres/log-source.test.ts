import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { AutoLogSource, createLogSource } from './log-source.js';
import type { PostgresSession } from './session.js';
import { resolveTarget } from './target.js';
import { postgresTargetSchema } from '../../config/schema.js';

function target(source: string) {
  return resolveTarget(
    postgresTargetSchema.parse({
      host: 'db',
      name: 'main',
      topTables: 10,
      logs: { source },
    }),
  );
}

/** A server that answers the privilege check, and counts the statements it got. */
function server(answer: { allowed: boolean; collecting: boolean }) {
  const statements: string[] = [];
  const session = {
    query: (sql: string) => {
      statements.push(sql);
      return Promise.resolve([answer]);
    },
  } as unknown as PostgresSession;
  return { session, statements };
}

describe('AutoLogSource', () => {
  it('reads nothing while the role may not read the log, and asks again only every few minutes', async () => {
    const clock = { now: 0 };
    const messages: string[] = [];
    const logger = silentLogger();
    logger.info = ((_fields: unknown, message: string) => {
      messages.push(message);
    }) as typeof logger.info;
    const source = new AutoLogSource(target('auto'), logger, () => clock.now);
    const { session, statements } = server({ allowed: false, collecting: true });
    expect(await source.read(session)).toEqual([]);
    expect(await source.read(session)).toEqual([]);
    expect(statements).toHaveLength(1);
    expect(messages).toEqual([
      'not reading the PostgreSQL server log: the role may not read it; run the grants of `sightline setup-sql postgres`, or set logs.source to the log directory',
    ]);
    clock.now += 5 * 60_000;
    await source.read(session);
    expect(statements).toHaveLength(2);
    expect(messages).toHaveLength(1);
  });

  it('says when the logging collector is off', async () => {
    const messages: string[] = [];
    const logger = silentLogger();
    logger.info = ((_fields: unknown, message: string) => {
      messages.push(message);
    }) as typeof logger.info;
    const source = new AutoLogSource(target('auto'), logger);
    await source.read(server({ allowed: true, collecting: false }).session);
    expect(messages[0]).toContain('logging_collector is off');
  });
});

describe('createLogSource', () => {
  it('reads nothing for off, and picks auto by default', () => {
    expect(createLogSource(target('off'), silentLogger())).toBeUndefined();
    expect(createLogSource(target('auto'), silentLogger())).toBeInstanceOf(AutoLogSource);
  });
});
