import { SightlineError } from '../core/errors.js';
import { SEVERITY_BANDS, severityFromText, type Severity } from '../core/severity.js';
import type { LogSearch } from '../store/store.js';
import { parseLimit, parseTimeRange } from './time-range.js';

export const MAX_LOG_LIMIT = 10_000;
/** Large enough that a query for a typical batch returns it whole; `limit` goes up to MAX_LOG_LIMIT. */
export const DEFAULT_LOG_LIMIT = 1000;

/** Field filters the simple search understands; any other `word:word` is searched as text. */
const FIELDS: Record<string, 'services' | 'severities' | 'hosts' | 'traceIds'> = {
  service: 'services',
  level: 'severities',
  severity: 'severities',
  host: 'hosts',
  trace_id: 'traceIds',
  trace: 'traceIds',
};

export interface LogSearchParams {
  q?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  limit?: string | undefined;
}

/**
 * The simple log search: words and "quoted phrases" that must all occur in the body, plus
 * `service:`, `level:`, `host:` and `trace_id:` filters (values may be quoted; repeating a
 * field means any of its values).
 */
export function parseLogSearch(params: LogSearchParams, nowMs: number, maxRangeMs?: number): LogSearch {
  const search: LogSearch = {
    ...parseTimeRange(params.from, params.to, nowMs, maxRangeMs),
    limit: parseLimit(params.limit, DEFAULT_LOG_LIMIT, MAX_LOG_LIMIT),
    text: [],
    services: [],
    severities: [],
    hosts: [],
    traceIds: [],
  };
  const filters = {
    services: [] as string[],
    severities: [] as Severity[],
    hosts: [] as string[],
    traceIds: [] as string[],
  };
  const text: string[] = [];
  for (const token of tokenize(params.q ?? '')) {
    const field = token.field === undefined ? undefined : FIELDS[token.field.toLowerCase()];
    if (field === undefined) {
      text.push(token.field === undefined ? token.value : `${token.field}:${token.value}`);
    } else if (field === 'severities') {
      filters.severities.push(parseLevel(token.value));
    } else if (field === 'traceIds') {
      filters.traceIds.push(token.value.toLowerCase());
    } else {
      filters[field].push(token.value);
    }
  }
  return { ...search, ...filters, text };
}

function parseLevel(value: string): Severity {
  const severity = severityFromText(value);
  if (severity === undefined) {
    throw new SightlineError(
      'SL_ERR_BAD_REQUEST',
      `level:${value} is not a level; use one of ${SEVERITY_BANDS.map((s) => s.toLowerCase()).join(', ')}`,
    );
  }
  return severity;
}

interface Token {
  field?: string;
  value: string;
}

/**
 * Splits `q` into words, `field:value` and `field:"quoted value"` tokens. A backslash escapes
 * the next character inside quotes; a quote left open is an error pointing at where it opened.
 */
function tokenize(q: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < q.length) {
    if (/\s/.test(q[i] ?? '')) {
      i++;
      continue;
    }
    const field = /^([A-Za-z_][\w.]*):(?=\S)/.exec(q.slice(i))?.[1];
    if (field !== undefined) i += field.length + 1;
    let value = '';
    if (q[i] === '"') {
      const opened = i;
      i++;
      while (i < q.length && q[i] !== '"') {
        if (q[i] === '\\' && i + 1 < q.length) i++;
        value += q[i];
        i++;
      }
      if (i >= q.length) {
        throw new SightlineError('SL_ERR_BAD_REQUEST', `q has an unclosed quote at column ${opened + 1}`);
      }
      i++;
    } else {
      while (i < q.length && !/\s/.test(q[i] ?? '')) value += q[i++];
    }
    if (value !== '') tokens.push(field === undefined ? { value } : { field, value });
  }
  return tokens;
}
