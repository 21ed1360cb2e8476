import { describe, expect, it } from 'vitest';
import { classify } from './classify.js';

describe('classify', () => {
  it('reads a statement duration', () => {
    expect(classify('LOG', "duration: 12.345 ms  statement: SELECT 'a'\nFROM t")).toEqual({
      category: 'statement_duration',
      durationMs: 12.345,
      statement: "SELECT 'a'\nFROM t",
      messageHead: 'duration: 12.345 ms  statement: ',
      planBody: null,
      attributes: { statement_phase: 'statement' },
    });
  });

  it('reads the extended-protocol steps and the prepared statement name', () => {
    expect(classify('LOG', 'duration: 0.009 ms  execute <unnamed>: SELECT $1')).toMatchObject({
      category: 'statement_duration',
      durationMs: 0.009,
      statement: 'SELECT $1',
      messageHead: 'duration: 0.009 ms  execute <unnamed>: ',
      attributes: { statement_phase: 'execute', prepared_statement: '<unnamed>' },
    });
    expect(classify('LOG', 'duration: 1.5 ms  execute fetch from S_1/C_2: SELECT 1')).toMatchObject({
      attributes: { statement_phase: 'execute', prepared_statement: 'S_1/C_2' },
    });
    expect(classify('LOG', 'duration: 0.1 ms  bind S_3: SELECT 1').attributes.statement_phase).toBe('bind');
    expect(classify('LOG', 'duration: 0.250 ms')).toMatchObject({
      category: 'statement_duration',
      durationMs: 0.25,
    });
  });

  it('reads a statement logged by log_statement', () => {
    expect(classify('LOG', 'statement: SELECT 1')).toMatchObject({
      category: 'other',
      statement: 'SELECT 1',
      messageHead: 'statement: ',
    });
  });

  it('separates an auto_explain plan from its duration', () => {
    expect(classify('LOG', 'duration: 0.041 ms  plan:\n{\n  "Query Text": "SELECT 1"\n}')).toMatchObject({
      category: 'plan',
      durationMs: 0.041,
      messageHead: 'duration: 0.041 ms  plan:',
      planBody: '{\n  "Query Text": "SELECT 1"\n}',
    });
  });

  it('reads an autovacuum report (PostgreSQL 15)', () => {
    const message = [
      'automatic aggressive vacuum to prevent wraparound of table "shop.public.customers": index scans: 1',
      'pages: 0 removed, 59 remain, 22 scanned (37.29% of total)',
      'tuples: 88 removed, 3086 remain, 0 are dead but not yet removable',
      'avg read rate: 319.312 MB/s, avg write rate: 21.287 MB/s',
      'buffer usage: 86 hits, 15 misses, 1 dirtied',
      'WAL usage: 19 records, 2 full page images, 13783 bytes',
      'system usage: CPU: user: 0.01 s, system: 0.00 s, elapsed: 1.25 s',
    ].join('\n');
    expect(classify('LOG', message)).toMatchObject({
      category: 'autovacuum',
      durationMs: 1250,
      attributes: {
        operation: 'vacuum',
        table: 'shop.public.customers',
        aggressive: true,
        wraparound: true,
        index_scans: 1,
        pages_removed: 0,
        pages_remain: 59,
        pages_scanned: 22,
        tuples_removed: 88,
        tuples_remain: 3086,
        tuples_dead_not_removable: 0,
        buffer_hits: 86,
        buffer_misses: 15,
        buffer_dirtied: 1,
        wal_records: 19,
        wal_full_page_images: 2,
        wal_bytes: 13783,
        read_rate_mb_s: 319.312,
        write_rate_mb_s: 21.287,
        cpu_user_s: 0.01,
        cpu_system_s: 0,
        elapsed_s: 1.25,
      },
    });
    expect(classify('LOG', 'automatic analyze of table "shop.public.customers"').attributes).toEqual({
      operation: 'analyze',
      table: 'shop.public.customers',
    });
  });

  it('reads checkpoint start and completion', () => {
    expect(classify('LOG', 'checkpoint starting: immediate force wait')).toMatchObject({
      category: 'checkpoint',
      durationMs: null,
      attributes: { kind: 'checkpoint', event: 'starting', flags: 'immediate force wait' },
    });
    const complete =
      'checkpoint complete: wrote 1097 buffers (6.7%); 0 WAL file(s) added, 0 removed, 1 recycled; write=0.008 s, sync=0.001 s, total=2.009 s; sync files=3, longest=0.001 s, average=0.000 s; distance=5191 kB, estimate=5191 kB';
    expect(classify('LOG', complete)).toMatchObject({
      category: 'checkpoint',
      durationMs: 2009,
      attributes: {
        event: 'complete',
        buffers_written: 1097,
        buffers_written_pct: 6.7,
        wal_files_recycled: 1,
        write_s: 0.008,
        sync_s: 0.001,
        total_s: 2.009,
        sync_files: 3,
        distance_kb: 5191,
      },
    });
  });

  it('reads connection events', () => {
    expect(classify('LOG', 'connection received: host=127.0.0.1 port=59222')).toMatchObject({
      category: 'connection',
      attributes: { event: 'received', client_host: '127.0.0.1', client_port: 59222 },
    });
    expect(
      classify(
        'LOG',
        'connection authorized: user=app database=shop application_name=my app SSL enabled (protocol=TLSv1.3)',
      ),
    ).toMatchObject({ category: 'connection', attributes: { event: 'authorized', ssl: true } });
    expect(
      classify(
        'LOG',
        'disconnection: session time: 1:02:03.500 user=app database=shop host=127.0.0.1 port=59222',
      ),
    ).toMatchObject({
      category: 'connection',
      durationMs: 3_723_500,
      attributes: { event: 'disconnection' },
    });
  });

  it('files ERROR, FATAL and PANIC as errors whatever the message', () => {
    expect(classify('ERROR', 'division by zero').category).toBe('error');
    expect(classify('FATAL', 'connection authorized: user=x').category).toBe('error');
    expect(classify('WARNING', 'there is no transaction in progress').category).toBe('other');
  });
});
