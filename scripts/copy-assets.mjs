// Copies the files tsc does not emit (generated JavaScript, static assets) into dist.
import { cpSync } from 'node:fs';

for (const dir of ['src/otlp/generated']) {
  cpSync(dir, `dist/${dir}`, { recursive: true, filter: (src) => !src.endsWith('.d.ts') });
}
