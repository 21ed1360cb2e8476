import { z } from 'zod';
import { SEVERITY_BANDS } from '../../core/severity.js';
import { stageSchema } from './stage.js';

/** The `sample` stage's options (see src/process/stages/sample.ts). Metrics and query statistics are never sampled. */
export const sampleStageSchema = stageSchema('sample', {
  /**
   * Records per second the stage aims to keep of each sampled signal (logs, spans), per org, on
   * top of the ones always kept; below it nothing is sampled out.
   */
  targetRecordsPerSecond: z.number().positive().max(10_000_000).default(1000),
  /** Time constant of the moving average of the incoming rate: how fast the sampling rate follows the traffic. */
  windowSeconds: z.number().positive().max(3600).default(30),
  /** Logs at or above this severity are always kept. */
  keepSeverity: z.enum(SEVERITY_BANDS).default('ERROR'),
  /** Spans at least this long are always kept (spans with status error are kept whatever their length). */
  slowSpanMs: z.number().positive().default(1000),
  /** Logs whose `duration_ms` attribute is at least this are always kept: the servers' slow statement lines. */
  slowStatementMs: z.number().positive().default(1000),
});
