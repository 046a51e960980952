import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/** Headers for cross-origin isolation (SharedArrayBuffer, WASM threads), as the coordinator sends them. */
export const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    // Keep WASM as files: served as application/wasm they compile while streaming, and a
    // strict Content-Security-Policy need not allow data: URLs.
    assetsInlineLimit: (file) => (file.endsWith('.wasm') ? false : undefined),
    rollupOptions: {
      input: { main: resolve('index.html'), dashboard: resolve('dashboard.html'), bench: resolve('bench.html'), widget: resolve('widget.html') },
    },
  },
  worker: { format: 'es' },
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
});
