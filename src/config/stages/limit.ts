import { stageSchema } from './stage.js';

/** The `limit` stage's options (see src/process/stages/limit.ts). */
export const limitStageSchema = stageSchema('limit', {});
