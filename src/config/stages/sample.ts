import { stageSchema } from './stage.js';

/** The `sample` stage's options (see src/process/stages/sample.ts). */
export const sampleStageSchema = stageSchema('sample', {});
