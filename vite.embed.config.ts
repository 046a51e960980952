import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * embed.js, the partner's script tag: a classic script (partners load it with a plain
 * `<script src … async>`), one file with a fixed name, no dependencies, built after the page
 * into the same dist/ (see `npm run build`).
 */
export default defineConfig({
  publicDir: false,
  build: {
    target: 'es2020',
    outDir: 'dist',
    emptyOutDir: false,
    copyPublicDir: false,
    lib: { entry: resolve('src/embed/embed.ts'), formats: ['iife'], name: 'SurgeEmbed', fileName: () => 'embed.js' },
  },
});
