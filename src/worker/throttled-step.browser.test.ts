import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKernelWorker, type WorkerHarness } from '../../test/helpers/kernel-worker-harness.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';

let harness: WorkerHarness;

/** A 32×32 tile inside the main cardioid: every pixel runs to maxIterations, far longer than these tests. */
const spec = {
  kernel: 'mandelbrot',
  params: {
    x0: '-0x1999c79999999999999999a',
    y0: '0xccc9eccccccccccccccccd',
    step: '0x400000000000000000',
    width: 32,
    height: 32,
    maxIterations: 1_000_000,
  } as MandelbrotParams,
} as const;

beforeAll(async () => {
  harness = await startKernelWorker();
  await harness.worker.start({ spec, backend: 'wasm' });
});

afterAll(() => harness.terminate());

describe('a throttled step in the kernel worker', () => {
  it('rests so that busy / (busy + rest) holds the limit', async () => {
    for (const limit of [0.5, 0.25]) {
      let busy = 0;
      let rest = 0;
      for (let i = 0; i < 6; i++) {
        const step = await harness.worker.throttledStep(40, limit);
        busy += step.busyMs;
        rest += step.restMs;
      }
      expect(busy / (busy + rest)).toBeCloseTo(limit, 1);
    }
  });

  it('does not rest at 100%', async () => {
    const step = await harness.worker.throttledStep(40, 1);
    expect(step.busyMs).toBeGreaterThan(0);
    expect(step.restMs).toBeLessThan(5);
  });

  it('ends a rest early on wake, so a pause takes effect at once', async () => {
    const started = performance.now();
    const stepping = harness.worker.throttledStep(100, 0.05);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await harness.worker.wake();
    const step = await stepping;
    // At 5% the rest after 100 ms of compute would be about 1.9 s.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(step.restMs).toBeLessThan(900);
  });
});
