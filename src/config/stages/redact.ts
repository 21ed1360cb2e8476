import { stageSchema } from './stage.js';

/** The `redact` stage's options (see src/process/stages/redact.ts). */
export const redactStageSchema = stageSchema('redact', {});
