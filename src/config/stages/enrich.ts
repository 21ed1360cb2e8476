import { stageSchema } from './stage.js';

/** The `enrich` stage's options (see src/process/stages/enrich.ts). */
export const enrichStageSchema = stageSchema('enrich', {});
