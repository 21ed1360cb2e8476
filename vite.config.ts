import react from '@vitejs/plugin-react';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const OUT_DIR = resolve(import.meta.dirname, 'dist/ui');

/**
 * Writes `.br` and `.gz` beside every text asset of the build, so the server sends the
 * compressed file as is (src/ui/static-routes.ts) instead of compressing on every request.
 */
function precompress(): Plugin {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  return {
    name: 'sightline-precompress',
    apply: 'build',
    closeBundle() {
      for (const path of walk(OUT_DIR)) {
        if (!/\.(js|css|html|svg|json)$/.test(path)) continue;
        const content = readFileSync(path);
        writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }));
        writeFileSync(
          `${path}.br`,
          brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }),
        );
      }
    },
  };
}

/** The web UI: `ui/` built into `dist/ui`, which `sightline start` serves on the API port. */
export default defineConfig({
  root: resolve(import.meta.dirname, 'ui'),
  base: '/',
  plugins: [react(), precompress()],
  build: {
    outDir: OUT_DIR,
    emptyOutDir: true,
    // Screens are lazy chunks; the first load is the shell (React, router, sign-in).
    chunkSizeWarningLimit: 500,
    sourcemap: true,
  },
  server: {
    // `vite` in ui/ for development, against a `sightline start` on :3000.
    proxy: { '/api': 'http://localhost:3000', '/prometheus': 'http://localhost:3000' },
  },
});
