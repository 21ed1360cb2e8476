import type { OrgId } from '../store/rows.js';

/** A sample's `org` label in the Prometheus text format (org ids never hold quotes or backslashes). */
const ORG_LABEL = /[{,]org="([^"]*)"/;

/**
 * The process's self-metrics as one org may see them: every sample labelled with another org
 * is left out (ingest counts and rejections name the org they belong to), while process-wide
 * samples, which carry no `org` label, stay. `# HELP` and `# TYPE` lines stay too: they name
 * metrics, not orgs.
 */
export function metricsForOrg(exposition: string, org: OrgId): string {
  return exposition
    .split('\n')
    .filter((line) => {
      if (line.startsWith('#')) return true;
      const match = ORG_LABEL.exec(line);
      return match === null || match[1] === org;
    })
    .join('\n');
}
