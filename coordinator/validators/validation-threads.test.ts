import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { KernelError } from '../../src/errors/kernel-error.ts';
import { matmulInputA, matmulInputB } from '../../src/kernels/matmul.ts';
import { matmulU32Reference } from '../../src/kernels/matmul-u32.ts';
import { primesReference } from '../../src/kernels/primes.ts';
import type { MatmulParams, PrimesParams } from '../../src/protocol/schemas.ts';
import { checkRequestFor, testSession } from '../../test/helpers/results-check-request.ts';
import type { ResultsChecked } from './results-check.ts';
import type { ValidationTask } from './validate-output.ts';
import { inlineValidator, ValidationThreads } from './validation-threads.ts';

/** One-block units, so the validator recomputes all of each and a wrong count is caught whatever it draws. */
const primesUnit = (lo: number): PrimesParams => ({ lo, hi: lo + 1024, blockSize: 1024 });
const matmul: MatmulParams = { seed: '0x0000000000c0ffee', m: 9, n: 11, k: 20, rowOffset: 0, colOffset: 4 };

function primesTask(lo: number, delta = 0): ValidationTask {
  const output = primesReference(primesUnit(lo));
  const view = new DataView(output.buffer);
  view.setUint32(0, view.getUint32(0, true) + delta, true);
  // A view into a larger buffer, as Buffer.from(base64) gives: only its own bytes may count.
  const padded = new Uint8Array(output.byteLength + 24);
  padded.set(output, 16);
  return { spec: { kernel: 'primes', params: primesUnit(lo) }, output: padded.subarray(16, 16 + output.byteLength) };
}

function matmulTask(flip: boolean): ValidationTask {
  const c = matmulU32Reference(matmulInputA(matmul, 'u32'), matmulInputB(matmul, 'u32'), matmul.m, matmul.n, matmul.k);
  if (flip) c[17]! ^= 1 << 9;
  return { spec: { kernel: 'matmul-u32', params: matmul }, output: new Uint8Array(c.buffer) };
}

/** Each output's verdict (or the error its check threw, or undefined when it was not validated). */
const verdicts = (checked: ResultsChecked) =>
  checked.outputs.map(({ validation }) => (validation === undefined ? undefined : 'error' in validation ? validation.error : validation.verdict));

/** Checks these tasks on `validator` under one receipt signed by the test session. */
const checkOn = async (validator: { check: ValidationThreads['check'] }, tasks: readonly ValidationTask[]) => validator.check(await checkRequestFor(tasks));

describe('validation threads', () => {
  let threads: ValidationThreads | undefined;
  afterEach(async () => {
    await threads?.close();
    threads = undefined;
  });

  it("find what the event loop finds: the signer, each output's bytes and hash, and its verdict, in order, with its time", async () => {
    threads = new ValidationThreads(2);
    const tasks = [primesTask(1e9), primesTask(1e9 + 1024, 1), matmulTask(false), matmulTask(true), primesTask(2 ** 40, -1), primesTask(7 * 1024)];
    const request = await checkRequestFor(tasks);
    const [onThreads, inline] = await Promise.all([threads.check(request), inlineValidator().check(request)]);
    expect(verdicts(onThreads)).toEqual(verdicts(inline));
    expect(verdicts(onThreads).map((verdict) => (verdict as { valid: boolean }).valid)).toEqual([true, false, true, false, false, true]);
    expect(verdicts(onThreads)[1]).toEqual({ valid: false, reason: expect.stringContaining('block 0 ([1000001024, 1000002048)) claims') });
    for (const { validation } of onThreads.outputs) expect(validation !== undefined && 'seconds' in validation && validation.seconds >= 0).toBe(true);
    expect(onThreads.signer).toBe(testSession.address.toLowerCase());
    expect(onThreads.rootMatches).toBe(true);
    expect(onThreads.outputs.map(({ hash }) => hash)).toEqual(request.outputs.map(({ resultHash }) => resultHash));
    expect(onThreads.outputs.map(({ bytes }) => Buffer.from(bytes))).toEqual(tasks.map(({ output }) => Buffer.from(output)));
  });

  it('spread concurrent requests over the threads and answer each its own', async () => {
    threads = new ValidationThreads(2);
    const requests = Array.from({ length: 12 }, (_, i) => [primesTask(1e9 + i * 1024, i % 3 === 0 ? 2 : 0)]);
    const answers = await Promise.all(requests.map((tasks) => checkOn(threads!, tasks)));
    expect(answers.map((checked) => (verdicts(checked)[0] as { valid: boolean }).valid)).toEqual(requests.map((_, i) => i % 3 !== 0));
  });

  it("return a check's error as its outcome, a KernelError with its code, and go on with the others", async () => {
    threads = new ValidationThreads(1);
    const unreachable: MatmulParams = {
      ...matmul,
      inputs: {
        a: { url: 'http://127.0.0.1:9/a.bin', sha256: '0'.repeat(64) },
        b: { url: 'http://127.0.0.1:9/b.bin', sha256: '0'.repeat(64) },
      },
    };
    const checked = await checkOn(threads, [{ spec: { kernel: 'matmul-u32', params: unreachable }, output: matmulTask(false).output }, primesTask(1e9)]);
    const error = verdicts(checked)[0];
    expect(error).toBeInstanceOf(KernelError);
    expect((error as KernelError).code).toBe('SURGE_E_KERNEL_INPUT_FETCH');
    expect((error as KernelError).shortMessage).toContain('http://127.0.0.1:9/a.bin could not be fetched');
    expect(verdicts(checked)[1]).toEqual({ valid: true });
  });

  it('keep the process alive while they hold work, and not once idle', () => {
    const fixture = fileURLToPath(new URL('../../test/fixtures/unclosed-validation-threads.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8', timeout: 30_000 });
    expect(run.error).toBeUndefined();
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe('[{"valid":true}]');
  });

  it('fail the validations a dying thread held, start another, and refuse work once closed', async () => {
    threads = new ValidationThreads(1, new URL('../../test/fixtures/crashing-validation-worker.ts', import.meta.url));
    const crashing = primesTask(0);
    (crashing.spec.params as PrimesParams & { crash?: boolean }).crash = true;
    await expect(checkOn(threads, [primesTask(1e9), crashing])).rejects.toThrow(
      /a validation thread stopped \(crashed on purpose\); the results it held were not judged/,
    );
    expect(verdicts(await checkOn(threads, [primesTask(1e9)]))).toEqual([{ valid: true }]);
    await threads.close();
    await expect(checkOn(threads, [primesTask(1e9)])).rejects.toThrow('the validation threads are closed');
  });
});
