import { removeLiterals } from '../../../sql/postgres-shape.js';
import { cutToBytes } from './record-splitter.js';
import { redactStatement } from './redact.js';

/**
 * auto_explain plans (auto_explain.log_format json, text; yaml and xml are kept as text). A plan
 * repeats the statement ("Query Text") and carries literals in its expressions
 * (`"Filter": "(email = 'alice@example.com'::text)"`), so both are redacted unless keepLiterals.
 */

export const DEFAULT_MAX_PLAN_BYTES = 256 * 1024;

export interface PlanOptions {
  keepLiterals: boolean;
  maxPlanBytes: number;
}

export interface ShapedPlan {
  format: 'json' | 'text' | 'other';
  /** The statement from "Query Text", redacted like any statement. */
  query: string;
  fingerprint: string;
  /**
   * JSON text: the EXPLAIN (FORMAT JSON) object for json plans, `{"text": "…"}` for the others;
   * `{"text": "…", "truncated": true}` when the plan was cut to maxPlanBytes.
   */
  plan: string;
  truncated: boolean;
}

/** EXPLAIN keys whose values are expressions, which can hold literals (explain.c). */
const EXPRESSION_KEYS = new Set([
  'Filter',
  'Join Filter',
  'Index Cond',
  'Recheck Cond',
  'Hash Cond',
  'Merge Cond',
  'TID Cond',
  'One-Time Filter',
  'Run Condition',
  'Order By',
  'Cache Key',
  'Output',
  'Sort Key',
  'Presorted Key',
  'Group Key',
  'Hash Key',
  'Grouping Sets',
  'Function Call',
  'Table Function Call',
  'Sampling Parameters',
  'Repeatable Seed',
  'Conflict Filter',
  'Conflict Arbiter Indexes',
]);

export function shapePlan(body: string, options: PlanOptions): ShapedPlan {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    const json = shapeJsonPlan(trimmed, options);
    if (json !== undefined) return json;
  }
  if (trimmed.startsWith('Query Text:')) return shapeTextPlan(trimmed, options);
  return shapeLoosePlan(trimmed, options);
}

/** JSON and YAML quote "Query Text" the same way (explain.c escape_yaml uses JSON escaping). */
const QUOTED_QUERY_TEXT = /"?Query Text"?: "((?:[^"\\]|\\.)*)"?/;
const XML_QUERY_TEXT = /<Query-Text>([\s\S]*?)(?:<\/Query-Text>|$)/;
/** A JSON / YAML / XML line that starts with a key: `"Filter": …`, `Filter: …`, `<Filter>…`. */
const LOOSE_KEY = /^\s*(?:- )?[<"]?([A-Z][A-Za-z -]*?)(?:"?:|>)/;
const NUMBER = /(?<![\w$.])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])/g;

/**
 * YAML, XML, or a JSON plan cut short: line by line, without the structure. Single-quoted
 * strings go everywhere; numbers go in the values of expression keys; the query text is
 * replaced by the redacted statement.
 */
function shapeLoosePlan(text: string, options: PlanOptions): ShapedPlan {
  const xml = XML_QUERY_TEXT.exec(text);
  const quoted = xml === null ? QUOTED_QUERY_TEXT.exec(text) : null;
  const queryText = xml !== null ? unescapeXml(xml[1] ?? '') : unescapeJson(quoted?.[1] ?? '');
  const statement = redactStatement(queryText, options.keepLiterals);
  if (options.keepLiterals) return bounded('other', statement, { text }, options);
  let body = text;
  if (xml !== null)
    body = body.replace(XML_QUERY_TEXT, () => `<Query-Text>${escapeXml(statement.statement)}</Query-Text>`);
  else if (quoted !== null)
    body = body.replace(QUOTED_QUERY_TEXT, () => `"Query Text": ${JSON.stringify(statement.statement)}`);
  const lines = body.split('\n').map((line) => {
    if (/Query[ -]Text/.test(line)) return line;
    const withoutStrings = line.replace(/'(?:[^']|'')*'?/g, '?');
    const key = LOOSE_KEY.exec(withoutStrings);
    if (key === null || !EXPRESSION_KEYS.has((key[1] ?? '').replace(/-/g, ' '))) return withoutStrings;
    const valueStart = key[0].length;
    return withoutStrings.slice(0, valueStart) + withoutStrings.slice(valueStart).replace(NUMBER, '?');
  });
  return bounded('other', statement, { text: lines.join('\n') }, options);
}

function shapeJsonPlan(text: string, options: PlanOptions): ShapedPlan | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const plan = parsed as Record<string, unknown>;
  const queryText = typeof plan['Query Text'] === 'string' ? plan['Query Text'] : '';
  const statement = redactStatement(queryText, options.keepLiterals);
  if (!options.keepLiterals) {
    if ('Query Text' in plan) plan['Query Text'] = statement.statement;
    redactJsonExpressions(plan);
  }
  return bounded('json', statement, plan, options);
}

function redactJsonExpressions(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) redactJsonExpressions(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const object = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(object)) {
    if (EXPRESSION_KEYS.has(key)) {
      if (typeof value === 'string') object[key] = removeLiterals(value);
      else if (Array.isArray(value)) {
        object[key] = (value as unknown[]).map((item) =>
          typeof item === 'string' ? removeLiterals(item) : item,
        );
      }
    } else if (key !== 'Query Text') {
      redactJsonExpressions(value);
    }
  }
}

/** A plan line: its node header has costs or actual figures (auto_explain log_analyze/costs). */
const PLAN_NODE_LINE = /\((?:cost=\d|actual (?:time|rows)=|never executed\))/;
const TEXT_EXPRESSION_LINE = /^(\s*(?:->\s*)?)([A-Z][A-Za-z -]*?): (.*)$/;

/**
 * Text format: `Query Text: <statement>` (which may span lines) then the plan tree. The
 * statement ends where the first line with node figures begins.
 */
function shapeTextPlan(text: string, options: PlanOptions): ShapedPlan {
  const lines = text.split('\n');
  let planStart = lines.findIndex((line, index) => index > 0 && PLAN_NODE_LINE.test(line));
  if (planStart === -1) planStart = 1;
  const queryText = [
    (lines[0] ?? '').slice('Query Text:'.length).trimStart(),
    ...lines.slice(1, planStart),
  ].join('\n');
  const statement = redactStatement(queryText, options.keepLiterals);
  let planLines = lines.slice(planStart);
  if (!options.keepLiterals) {
    planLines = planLines.map((line) => {
      const expression = TEXT_EXPRESSION_LINE.exec(line);
      if (expression === null || !EXPRESSION_KEYS.has(expression[2] ?? '')) return line;
      return `${expression[1] ?? ''}${expression[2] ?? ''}: ${removeLiterals(expression[3] ?? '')}`;
    });
  }
  const planText = [`Query Text: ${statement.statement}`, ...planLines].join('\n');
  return bounded('text', statement, { text: planText }, options);
}

function bounded(
  format: ShapedPlan['format'],
  statement: { statement: string; fingerprint: string },
  value: unknown,
  options: PlanOptions,
): ShapedPlan {
  let plan = JSON.stringify(value);
  let truncated = false;
  if (Buffer.byteLength(plan) > options.maxPlanBytes) {
    truncated = true;
    // Keep the start of the plan (its root and first nodes) as text; JSON escaping can grow
    // it, so shrink until the whole fits.
    const source =
      format === 'json' ? JSON.stringify(value, null, 1) : String((value as { text: string }).text);
    let budget = options.maxPlanBytes - 40;
    for (;;) {
      const cut = cutToBytes(source, Math.max(0, budget));
      plan = JSON.stringify({ text: cut.text, truncated: true });
      if (Buffer.byteLength(plan) <= options.maxPlanBytes || budget <= 0) break;
      budget = Math.floor(budget * 0.8);
    }
  }
  return { format, query: statement.statement, fingerprint: statement.fingerprint, plan, truncated };
}

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|quot|apos|amp);/g, (_, name: string) => XML_ENTITIES[name] ?? '');
}

function escapeXml(text: string): string {
  return text.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
}

const XML_ENTITIES: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };

function unescapeJson(body: string): string {
  try {
    return JSON.parse(`"${body}"`) as string;
  } catch {
    return body;
  }
}
