import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { keccak256 } from 'viem';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mandelbrotReference } from '../src/kernels/mandelbrot.ts';
import { matmulInputA, matmulInputB } from '../src/kernels/matmul.ts';
import { matmulF32Reference } from '../src/kernels/matmul-f32.ts';
import { primesReference } from '../src/kernels/primes.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, JobRequest, JobStatus, Lease } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { registerContributor } from '../test/helpers/contributor.ts';
import { kOtherRequesterToken, kTestRequesterToken, startTestCoordinator, type TestCoordinator, testDatabases } from '../test/helpers/test-coordinator.ts';
import { main as cli } from './cli/surge-cli.ts';
import { configFromEnv } from './config.ts';
import { abandonPreparingJobs, ensureDemoWork } from './work-generator.ts';

let coordinator: TestCoordinator;

describe.each(testDatabases)('on $name', ({ name: database, skip }) => {
  // PostgreSQL runs where a server is given (SURGE_TEST_POSTGRES_URL, set by .ci/run); skipped, and said so, elsewhere.
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  beforeEach(async () => {
    coordinator = await startTestCoordinator({ demo: undefined }, database);
  });
  afterEach(() => coordinator.close());

  const auth = (token = kTestRequesterToken) => ({ authorization: `Bearer ${token}` });

  async function submit(job: JobRequest, token = kTestRequesterToken) {
    return coordinator.app.inject({ method: 'POST', url: '/v1/jobs', headers: auth(token), payload: job });
  }

  /** The correct output of any unit, from the kernels' references. */
  function correctOutput(lease: Lease): Uint8Array {
    switch (lease.kernel) {
      case 'matmul-f32': {
        const { m, n, k } = lease.params;
        return new Uint8Array(Float32Array.from(matmulF32Reference(matmulInputA(lease.params, 'f32'), matmulInputB(lease.params, 'f32'), m, n, k)).buffer);
      }
      case 'mandelbrot':
        return new Uint8Array(mandelbrotReference(lease.params).buffer);
      case 'primes':
        return primesReference(lease.params);
      default:
        throw new Error(`no reference for ${lease.kernel}`);
    }
  }

  /** A contributor that leases and completes every unit there is, correctly. */
  async function contributeAll(): Promise<number> {
    const domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
    const { owner, session } = await registerContributor(coordinator.app);
    let done = 0;
    for (;;) {
      coordinator.clock.now += 1; // so leases are ordered by when they were issued
      const { lease } = (
        await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: session.address, backends: ['wasm'] } })
      ).json() as { lease: Lease | null };
      if (!lease) return done;
      const output = correctOutput(lease);
      const signed = await signWorkReceipt({ session, owner: owner.address, domain, lease, output, seq: done });
      const response = await coordinator.app.inject({
        method: 'POST',
        url: '/v1/results',
        payload: { lease: lease.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature },
      });
      expect(response.statusCode).toBe(200);
      expect(keccak256(output)).toBe(signed.receipt.resultHash);
      done++;
    }
  }

  const mandelbrotJob: JobRequest = {
    name: 'Tiny picture',
    purpose: 'a test',
    kernel: 'mandelbrot',
    params: { centerX: '-0.5', centerY: '0', pixelSize: '0.15', width: 20, height: 12, maxIterations: 64, tile: 8 },
  };

  describe('the jobs API', () => {
    it('needs a requester token, and keeps each requester to its own jobs', async () => {
      const anonymous = await coordinator.app.inject({ method: 'POST', url: '/v1/jobs', payload: mandelbrotJob });
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json().error.code).toBe('SURGE_E_UNAUTHORIZED');
      expect((await submit(mandelbrotJob, 'wrong-token')).statusCode).toBe(401);
      const created = (await submit(mandelbrotJob)).json() as JobStatus;
      const peek = await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${created.id}`, headers: auth(kOtherRequesterToken) });
      expect(peek.statusCode).toBe(403);
      expect(peek.json().error.code).toBe('SURGE_E_JOB_NOT_YOURS');
    });

    it('refuses a job it cannot make, naming the problem', async () => {
      const outside = await submit({ ...mandelbrotJob, params: { ...mandelbrotJob.params, centerX: '3.9' } } as JobRequest);
      expect(outside.statusCode).toBe(400);
      expect(outside.json().error.code).toBe('SURGE_E_JOB_INVALID');
      const misaligned = await submit({ name: 'p', purpose: 'p', kernel: 'primes', params: { lo: 0, hi: 100_000, span: 40_000, blockSize: 8192 } });
      expect(misaligned.json().error.message).toMatch(/span \(40000\) must be a multiple of blockSize/);
      const badType = await submit({ ...mandelbrotJob, params: { ...mandelbrotJob.params, width: 'wide' } } as unknown as JobRequest);
      expect(badType.json().error).toMatchObject({ code: 'SURGE_E_BAD_REQUEST', field: 'params.width' });
      const huge = await submit({ name: 'p', purpose: 'p', kernel: 'primes', params: { lo: 0, hi: 2 ** 40, span: 1024, blockSize: 1024 } });
      expect(huge.json().error).toMatchObject({ code: 'SURGE_E_JOB_INVALID' });
      expect(huge.json().error.message).toMatch(/would have 1073741824 units, over the limit of 1000000/);
      expect(await coordinator.db.selectFrom('jobs').select('id').execute()).toEqual([]);
    });

    it('makes a large job a few hundred units at a time, leasing none of it until every unit is in', async () => {
      const existing = (await submit(mandelbrotJob)).json() as JobStatus;
      const { session } = await registerContributor(coordinator.app);
      const large = submit({
        name: 'Large',
        purpose: 'p',
        kernel: 'primes',
        priority: 9,
        params: { lo: 1e9, hi: 1e9 + 30_000 * 1024, span: 1024, blockSize: 1024 },
      });
      // Between two of its writes the coordinator answers other requests: a lease now gets a
      // unit of the job already there, never one of the job being made, though it ranks higher.
      let preparing: { id: number; status: string } | undefined;
      for (let tries = 0; !preparing && tries < 2000; tries++) {
        await new Promise((resolve) => setImmediate(resolve));
        preparing = await coordinator.db.selectFrom('jobs').select(['id', 'status']).where('name', '=', 'Large').executeTakeFirst();
      }
      expect(preparing?.status).toBe('preparing');
      const { count } = await coordinator.db
        .selectFrom('units')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('job_id', '=', preparing!.id)
        .executeTakeFirstOrThrow();
      expect(Number(count)).toBeLessThan(30_000);
      const during = (await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: session.address, backends: ['wasm'] } })).json();
      expect(during.lease).toMatchObject({ jobId: existing.id });

      const made = (await large).json() as JobStatus;
      expect(made).toMatchObject({ id: preparing!.id, status: 'active', units: { total: 30_000, done: 0 } });
      expect(
        Number(
          (
            await coordinator.db
              .selectFrom('units')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .where('job_id', '=', made.id)
              .executeTakeFirstOrThrow()
          ).n,
        ),
      ).toBe(30_000);
      const after = (await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: session.address, backends: ['wasm'] } })).json();
      expect(after.lease).toMatchObject({ jobId: made.id, params: { lo: 1e9, hi: 1e9 + 1024 } });
    });

    it('makes demo work when only jobs that are not active have ready units, one demo job however many ask at once', async () => {
      const made = (await submit(mandelbrotJob)).json() as JobStatus;
      await coordinator.db.updateTable('jobs').set({ status: 'failed' }).where('id', '=', made.id).execute();
      const demo = { size: 64, block: 32, k: 16 };
      await Promise.all([ensureDemoWork(coordinator.db, demo), ensureDemoWork(coordinator.db, demo), ensureDemoWork(coordinator.db, demo)]);
      expect(await coordinator.db.selectFrom('jobs').select(['name', 'units_total']).where('status', '=', 'active').execute()).toEqual([
        { name: 'Demo matrix product #1', units_total: 4 },
      ]);
    });

    it('makes the demo job `npm start` asks for, with units whose output fits a result', async () => {
      const { demo } = configFromEnv({});
      const { session } = await registerContributor(coordinator.app);
      await ensureDemoWork(coordinator.db, demo!);
      const job = await coordinator.db.selectFrom('jobs').select(['name', 'units_total']).where('status', '=', 'active').executeTakeFirstOrThrow();
      expect(job).toEqual({ name: 'Demo matrix product #1', units_total: (demo!.size / demo!.block) ** 2 });
      const lease = (await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: session.address, backends: ['wasm'] } })).json();
      expect(lease.lease).toMatchObject({ kernel: 'matmul-f32', params: { m: demo!.block, n: demo!.block, k: demo!.k } });
    });

    it('fails a job whose making a stopped coordinator left half done, and never leases it', async () => {
      const made = (await submit(mandelbrotJob)).json() as JobStatus;
      await coordinator.db.updateTable('jobs').set({ status: 'preparing' }).where('id', '=', made.id).execute();
      // The sweep each minute leaves a young preparing job alone: this process may be making it.
      await abandonPreparingJobs(coordinator.db, coordinator.clock.now + 1000, { atStart: false });
      expect((await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${made.id}`, headers: auth() })).json()).toMatchObject({ status: 'preparing' });
      // At start on SQLite none is being made; on PostgreSQL another process may be making it, so it is abandoned only once it is old.
      await abandonPreparingJobs(coordinator.db, coordinator.clock.now + 1000, { atStart: true });
      const expected = database === 'postgres' ? 'preparing' : 'failed';
      expect((await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${made.id}`, headers: auth() })).json()).toMatchObject({ status: expected });
      await abandonPreparingJobs(coordinator.db, coordinator.clock.now + 11 * 60 * 1000, { atStart: false });
      expect((await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${made.id}`, headers: auth() })).json()).toMatchObject({
        status: 'failed',
        reason: 'the coordinator stopped while making this job’s units; submit it again',
      });
      expect(await contributeAll()).toBe(0);
    });

    it('assembles a Mandelbrot picture from its tiles and serves it as PNG', async () => {
      const created = (await submit(mandelbrotJob)).json() as JobStatus;
      expect(created).toMatchObject({ status: 'active', units: { total: 6, done: 0 } });
      const early = await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${created.id}/output`, headers: auth() });
      expect(early.json().error.code).toBe('SURGE_E_JOB_NOT_DONE');
      expect(await contributeAll()).toBe(6);
      const status = (await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${created.id}`, headers: auth() })).json() as JobStatus;
      expect(status).toMatchObject({ status: 'done', units: { total: 6, done: 6, failed: 0 } });
      const output = await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${created.id}/output`, headers: auth() });
      expect(output.headers['content-type']).toBe('image/png');
      const png = decode(output.rawPayload);
      expect([png.width, png.height]).toEqual([20, 12]);
      // The centre pixel (about −0.5 + 0i) is in the set: black.
      const centre = (6 * 20 + 10) * png.channels;
      expect(Array.from(png.data.slice(centre, centre + 3))).toEqual([0, 0, 0]);
    });

    it('assembles a product matrix equal to the whole reference product', async () => {
      const job: JobRequest = {
        name: 'Product',
        purpose: 'a test',
        kernel: 'matmul-f32',
        params: { seed: '0x000000000000abcd', rows: 20, cols: 12, k: 8, block: 8 },
      };
      const created = (await submit(job)).json() as JobStatus;
      expect(await contributeAll()).toBe(created.units.total);
      const output = await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${created.id}/output`, headers: auth() });
      expect(output.headers['x-surge-shape']).toBe('20x12');
      const whole = { seed: '0x000000000000abcd', m: 20, n: 12, k: 8, rowOffset: 0, colOffset: 0 };
      const expected = Float32Array.from(matmulF32Reference(matmulInputA(whole, 'f32'), matmulInputB(whole, 'f32'), 20, 12, 8));
      expect(Array.from(new Float32Array(new Uint8Array(output.rawPayload).buffer))).toEqual(Array.from(expected));
    });

    it('counts primes and twins below 10⁵ from per-block counts', async () => {
      const job: JobRequest = { name: 'Primes', purpose: 'a test', kernel: 'primes', params: { lo: 0, hi: 100_000, span: 32_768, blockSize: 8192 } };
      const created = (await submit(job)).json() as JobStatus;
      expect(await contributeAll()).toBe(4);
      const output = (await coordinator.app.inject({ method: 'GET', url: `/v1/jobs/${created.id}/output`, headers: auth() })).json();
      expect(output).toMatchObject({ lo: 0, hi: 100_000, primes: 9592, twins: 1224 });
      expect(output.blocks).toHaveLength(13);
    });

    it('leases a higher-priority job first, and never leases a cancelled one', async () => {
      const normal = (await submit(mandelbrotJob)).json() as JobStatus;
      const urgent = (await submit({ ...mandelbrotJob, name: 'Urgent', priority: 5 })).json() as JobStatus;
      const dropped = (await submit({ ...mandelbrotJob, name: 'Dropped', priority: 9 })).json() as JobStatus;
      const cancelled = await coordinator.app.inject({ method: 'DELETE', url: `/v1/jobs/${dropped.id}`, headers: auth() });
      expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
      expect((await coordinator.app.inject({ method: 'DELETE', url: `/v1/jobs/${dropped.id}`, headers: auth() })).json().error.code).toBe(
        'SURGE_E_JOB_NOT_ACTIVE',
      );
      expect(await contributeAll()).toBe(normal.units.total + urgent.units.total);
      const leased = await coordinator.db
        .selectFrom('leases')
        .innerJoin('units', 'units.id', 'leases.unit_id')
        .select('units.job_id')
        .orderBy('leases.created_at')
        .orderBy('units.id')
        .execute();
      const order = leased.map((row) => row.job_id);
      // Every unit of the urgent job went out before any of the earlier, normal one; none of the cancelled job's.
      expect(order.slice(0, urgent.units.total)).toEqual(Array(urgent.units.total).fill(urgent.id));
      expect(order).not.toContain(dropped.id);
    });

    it('takes the deadlines off a cancelled job’s leased units, so no lease looks for them again, and still pays a result that comes back', async () => {
      const job = (await submit(mandelbrotJob)).json() as JobStatus;
      const domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
      const { owner, session } = await registerContributor(coordinator.app);
      const leaseOne = async () =>
        (
          (await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: session.address, backends: ['wasm'] } })).json() as {
            lease: Lease;
          }
        ).lease;
      const kept = await leaseOne();
      await leaseOne(); // abandoned: its contributor never comes back
      const earliestDeadline = async () =>
        (
          await coordinator.db
            .selectFrom('units')
            .select((eb) => eb.fn.min('lease_deadline').as('earliest'))
            .where('state', '=', 'leased')
            .executeTakeFirst()
        )?.earliest ?? null;
      expect(await earliestDeadline()).not.toBeNull();
      expect((await coordinator.app.inject({ method: 'DELETE', url: `/v1/jobs/${job.id}`, headers: auth() })).json()).toMatchObject({ status: 'cancelled' });
      // The feeder asks for the earliest deadline of any leased unit before it looks for overdue ones.
      expect(await earliestDeadline()).toBeNull();

      const output = correctOutput(kept);
      const signed = await signWorkReceipt({ session, owner: owner.address, domain, lease: kept, output, seq: 0 });
      const late = await coordinator.app.inject({
        method: 'POST',
        url: '/v1/results',
        payload: { lease: kept.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature },
      });
      expect(late.statusCode).toBe(200);
      expect(late.json()).toMatchObject({ status: 'validated' });
    });
  });

  describe('the progress stream', () => {
    it('sends a progress event as units complete, and ends when the job is done', async () => {
      await coordinator.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = coordinator.app.server.address() as { port: number };
      const created = (await submit(mandelbrotJob)).json() as JobStatus;
      const response = await fetch(`http://127.0.0.1:${port}/v1/jobs/${created.id}/events`, { headers: auth() });
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      const first = await reader.read();
      expect(first.value).toMatch(/^event: progress\ndata: .*"status":"active"/);
      await contributeAll();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += chunk.value;
      const events = rest
        .split('\n\n')
        .filter(Boolean)
        .map((event) => JSON.parse(event.split('data: ')[1]!) as JobStatus);
      expect(events.at(-1)).toMatchObject({ status: 'done', units: { done: 6, total: 6 } });
    });
  });

  describe('npx surge job', () => {
    it('submits, reports, downloads and cancels through the CLI', async () => {
      await coordinator.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = coordinator.app.server.address() as { port: number };
      const base = ['--coordinator', `http://127.0.0.1:${port}`, '--token', kTestRequesterToken];
      const folder = mkdtempSync(join(tmpdir(), 'surge-cli-'));
      const file = join(folder, 'job.json');
      writeFileSync(file, JSON.stringify(mandelbrotJob));
      const printed: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void printed.push(line));
      const errors = vi.spyOn(console, 'error').mockImplementation((line: string) => void printed.push(line));
      try {
        expect(await cli(['job', 'submit', file, '--json', ...base])).toBe(0);
        const job = JSON.parse(printed.at(-1)!) as JobStatus;
        expect(await cli(['job', 'output', String(job.id), ...base])).toBe(1);
        expect(printed.at(-1)).toMatch(/surge: Job \d+ is active \(0 of 6 units done\).*SURGE_E_JOB_NOT_DONE/);
        await contributeAll();
        expect(await cli(['job', 'status', String(job.id), ...base])).toBe(0);
        expect(printed.at(-1)).toMatch(/job \d+ "Tiny picture" \(mandelbrot\): done, 6\/6 units \(100%\)/);
        const out = join(folder, 'picture.png');
        expect(await cli(['job', 'output', String(job.id), '--out', out, ...base])).toBe(0);
        expect(decode(readFileSync(out)).width).toBe(20);
        expect(await cli(['job', 'status', '1', '--coordinator', 'http://127.0.0.1:1', '--token', 'x'])).toBe(1);
        expect(printed.at(-1)).toMatch(/could not be reached/);
      } finally {
        log.mockRestore();
        errors.mockRestore();
        rmSync(folder, { recursive: true, force: true });
      }
    });
  });
});
