import { describe, expect, it } from 'vitest';
import type { StoredSpan } from '../store/store.js';
import { traceView } from './views.js';

function span(spanId: string, parentSpanId: string, startTs: bigint, endTs = startTs + 10n): StoredSpan {
  return {
    id: spanId,
    startTs,
    endTs,
    durationNs: endTs - startTs,
    traceId: 't',
    spanId,
    parentSpanId,
    traceState: '',
    service: 'svc',
    host: '',
    entityId: '',
    name: spanId,
    kind: 'internal',
    status: 'unset',
    statusMessage: '',
    scopeName: '',
    attributes: '{}',
    resource: '{}',
    events: '[]',
    links: '[]',
  };
}

describe('traceView', () => {
  it('lists spans in start order, a parent before a child that started at the same time', () => {
    const view = traceView('t', [
      span('child', 'root', 100n),
      span('late', 'root', 150n),
      span('root', '', 100n, 200n),
    ]);
    expect(view.spans.map((s) => [s.spanId, s.depth])).toEqual([
      ['root', 0],
      ['child', 1],
      ['late', 1],
    ]);
    expect(view).toMatchObject({ spanCount: 3, durationNs: '100', services: ['svc'] });
    expect(view.spans[2]?.offsetMs).toBe(0.00005);
  });

  it('treats a parent that is not stored as a root, and survives a cycle', () => {
    const view = traceView('t', [span('a', 'missing', 1n), span('b', 'c', 2n), span('c', 'b', 3n)]);
    expect(view.spans.find((s) => s.spanId === 'a')?.depth).toBe(0);
    expect(view.spans.find((s) => s.spanId === 'b')?.depth).toBeLessThanOrEqual(3);
  });
});
