import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/**
 * `npm run bench:validation -- --json` on a job of four units large enough for the WebAssembly
 * check: the share itself is the benchmark's to report, not a test's to time; this checks that
 * every unit computed is validated and that the line adds up.
 */
describe('the validation cost benchmark', () => {
  it('computes and validates every unit of the job, and prints the share validation took', async () => {
    const { stdout } = await run(
      process.execPath,
      ['--experimental-wasm-relaxed-simd', '--import', 'tsx', 'bench/validation-cost.ts', '--json', '--size', '256', '--block', '128', '--k', '1024'],
      { timeout: 60_000 },
    );
    const line = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ kernel: 'matmul-f32', size: 256, block: 128, k: 1024, units: 4, wasm: 'relaxed SIMD' });
    const { computeMs, validateMs, validationShare, machine } = line as { computeMs: number; validateMs: number; validationShare: number; machine: string };
    expect(computeMs).toBeGreaterThan(0);
    expect(validateMs).toBeGreaterThan(0);
    expect(validationShare).toBeCloseTo(validateMs / computeMs, 1);
    expect(machine).toMatch(/\d+ cores, Node v\d+/);
  });

  it('names a shape it cannot run', async () => {
    await expect(run(process.execPath, ['--import', 'tsx', 'bench/validation-cost.ts', '--size', '300', '--block', '128'])).rejects.toThrow(
      /--size \(300\) must be a multiple of --block \(128\)/,
    );
  });
});
