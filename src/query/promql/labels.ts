import type { LabelMatcher, Labels } from './ast.js';

/** Label-set helpers with Prometheus' model/labels semantics: a missing label equals "". */

export const METRIC_NAME = '__name__';
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export const isValidLabelName = (name: string): boolean => LABEL_NAME_RE.test(name);

/**
 * Translates an RE2 pattern into a JavaScript RegExp, fully anchored as Prometheus' label
 * matchers are (`^(?:re)$`). Handles the RE2 spellings JavaScript lacks: `(?P<name>` groups and
 * a leading `(?i)` / `(?s)` flag group.
 */
export function compileGoRegex(pattern: string, anchored: boolean): RegExp {
  let source = pattern;
  let flags = '';
  const flagGroup = /^\(\?([is]+)\)/.exec(source);
  if (flagGroup !== null) {
    flags = Array.from(new Set(flagGroup[1])).join('');
    source = source.slice(flagGroup[0].length);
  }
  source = source.replace(/\(\?P</g, '(?<');
  return new RegExp(anchored ? `^(?:${source})$` : source, flags);
}

const regexCache = new Map<string, RegExp>();

export function compileMatcherRegex(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    re = compileGoRegex(pattern, true);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

export function matcherMatches(m: LabelMatcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return compileMatcherRegex(m.value).test(value);
    case '!~':
      return !compileMatcherRegex(m.value).test(value);
  }
}

/** True when a series with these labels is selected by every matcher. */
export function matchesAll(labels: Labels, matchers: readonly LabelMatcher[]): boolean {
  return matchers.every((m) => matcherMatches(m, labels[m.name] ?? ''));
}

/** Label names sorted by code unit, empty values dropped (an empty label does not exist). */
export function sortedNames(labels: Labels): string[] {
  return Object.keys(labels)
    .filter((k) => labels[k] !== '')
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A canonical string of a label set: equal strings ⇔ equal label sets, and comparing two keys
 * as strings orders them like model/labels.Compare (the separators sort below every character).
 */
export function labelsKey(labels: Labels): string {
  let key = '';
  for (const name of sortedNames(labels)) key += `${name}\x00${labels[name] ?? ''}\x01`;
  return key;
}

/** model/labels.Compare: pairwise by name then value, a prefix sorts first. */
export function compareLabels(a: Labels, b: Labels): number {
  const an = sortedNames(a);
  const bn = sortedNames(b);
  const n = Math.min(an.length, bn.length);
  for (let k = 0; k < n; k++) {
    const x = an[k] ?? '';
    const y = bn[k] ?? '';
    if (x !== y) return x < y ? -1 : 1;
    const xv = a[x] ?? '';
    const yv = b[y] ?? '';
    if (xv !== yv) return xv < yv ? -1 : 1;
  }
  return an.length - bn.length;
}

/** A copy without empty values (Prometheus never stores empty labels). */
export function cleanLabels(labels: Labels): Labels {
  const out: Record<string, string> = {};
  for (const name of sortedNames(labels)) out[name] = labels[name] ?? '';
  return out;
}

export function dropMetricName(labels: Labels): Labels {
  if (labels[METRIC_NAME] === undefined) return labels;
  const out: Record<string, string> = { ...labels };
  delete out[METRIC_NAME];
  return out;
}

/** Keeps only `names` (Builder.Keep). */
export function keepLabels(labels: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = labels[name];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** Removes `names` (Builder.Del). */
export function removeLabels(labels: Labels, names: readonly string[]): Labels {
  const out: Record<string, string> = { ...labels };
  for (const name of names) delete out[name];
  return out;
}

/**
 * Matching signature for vector matching and grouping: with `on`, only the listed labels;
 * otherwise every label except the listed ones and the metric name (labels.HashWithoutLabels).
 */
export function signature(labels: Labels, on: boolean, names: readonly string[]): string {
  if (on) {
    let key = '';
    for (const name of [...names].sort()) key += `${name}\x00${labels[name] ?? ''}\x01`;
    return key;
  }
  let key = '';
  for (const name of sortedNames(labels)) {
    if (name === METRIC_NAME || names.includes(name)) continue;
    key += `${name}\x00${labels[name] ?? ''}\x01`;
  }
  return key;
}

/** Prometheus' labels.String(): `{a="b", c="d"}`, for error messages. */
export function formatLabels(labels: Labels): string {
  return `{${sortedNames(labels)
    .map((n) => `${n}=${JSON.stringify(labels[n])}`)
    .join(', ')}}`;
}
