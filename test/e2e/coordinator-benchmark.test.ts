import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

interface BenchmarkLine {
  mode: string;
  db: string;
  clients: number;
  batch: number;
  offeredPerSecond: number | null;
  seconds: number;
  validatedPerSecond: number;
  leaseP50Ms: number;
  leaseP99Ms: number;
  coordinatorCpuMsPer1000: number;
  coordinatorMainThreadCpuMsPer1000: number;
  clientCpuMsPer1000: number;
  failed: number;
  errors: Record<string, number>;
  machine: string;
}

/**
 * `npm run bench:coordinator -- --json` at a size that runs in seconds: a real coordinator
 * process, simulated clients in their own process, both phases. The figures themselves are
 * the benchmark's to report, not a test's to time; this checks that it runs and that what it
 * prints adds up.
 */
describe('the coordinator benchmark', () => {
  it('prints one line per phase with validated results, lease latencies and CPU, and no refusals', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        'bench/coordinator.ts',
        '--json',
        ...['--clients', '20', '--client-processes', '1', '--batch', '4'],
        ...['--seconds', '2', '--paced-seconds', '3', '--warmup', '1', '--rate', '200'],
      ],
      { timeout: 120_000 },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as BenchmarkLine);
    expect(lines.map((line) => line.mode)).toEqual(['saturated', 'paced']);
    for (const line of lines) {
      expect(line).toMatchObject({ db: 'sqlite', clients: 20, batch: 4, failed: 0, errors: {} });
      expect(line.validatedPerSecond).toBeGreaterThan(0);
      expect(line.leaseP50Ms).toBeGreaterThan(0);
      expect(line.leaseP99Ms).toBeGreaterThanOrEqual(line.leaseP50Ms);
      expect(line.coordinatorMainThreadCpuMsPer1000).toBeGreaterThan(0);
      expect(line.coordinatorMainThreadCpuMsPer1000).toBeLessThanOrEqual(line.coordinatorCpuMsPer1000);
      expect(line.clientCpuMsPer1000).toBeGreaterThan(0);
      expect(line.machine).toMatch(/, \d+ cores, Node v\d+\./);
    }
    const paced = lines[1]!;
    expect(paced.offeredPerSecond).toBe(200);
    expect(paced.seconds).toBeCloseTo(3, 0);
    // Paced well below what the coordinator takes, it validates about what is offered.
    expect(paced.validatedPerSecond).toBeGreaterThan(100);
    expect(paced.validatedPerSecond).toBeLessThan(300);
  });
});
