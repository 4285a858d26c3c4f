import { defineConfig } from 'vite';

// `npm run build` (from the repo root) writes web/dist, which the local server serves at `/`.
// base './' keeps asset URLs relative, so the same build can be hosted under any path (e.g. an S3 prefix).
export default defineConfig({
  base: './',
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1024 },
});
