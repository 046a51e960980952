import { playwright } from '@vitest/browser-playwright';
import { defineConfig, mergeConfig } from 'vitest/config';
import { chromiumArgs, chromiumPath } from './test/helpers/chromium.ts';
import viteConfig from './vite.config.ts';

/**
 * Two projects: `node` runs the coordinator, pure-TypeScript unit tests and the end-to-end
 * tests (which drive their own Chromium); `browser` runs `*.browser.test.ts` inside headless
 * Chromium with real workers, WASM and WebGPU.
 */
export default mergeConfig(
  viteConfig,
  defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: {
            name: 'node',
            environment: 'node',
            include: ['src/**/*.test.ts', 'coordinator/**/*.test.ts', 'contracts/**/*.test.ts', 'test/**/*.test.ts'],
            exclude: ['**/*.browser.test.ts', 'test/e2e/**', 'node_modules/**'],
            testTimeout: 30_000,
            hookTimeout: 60_000,
          },
        },
        {
          extends: true,
          test: {
            // Whole flows through a real coordinator and headless Chromium: minutes on a busy 2-core machine.
            name: 'e2e',
            environment: 'node',
            include: ['test/e2e/**/*.test.ts'],
            testTimeout: 180_000,
            hookTimeout: 120_000,
          },
        },
        {
          extends: true,
          // Bundled before the run, so no browser test reloads when a component test first imports them.
          optimizeDeps: { include: ['@open-wc/testing/pure', 'lit', 'lit/decorators.js'] },
          test: {
            name: 'browser',
            include: ['src/**/*.browser.test.ts'],
            testTimeout: 60_000,
            browser: {
              enabled: true,
              headless: true,
              screenshotFailures: false,
              provider: playwright({ launchOptions: { executablePath: chromiumPath(), args: chromiumArgs } }),
              instances: [{ browser: 'chromium' }],
            },
          },
        },
      ],
    },
  }),
);
