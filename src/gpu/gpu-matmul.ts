import blockedSource from '../../shaders/matmul-blocked.wgsl?raw';
import f32Source from '../../shaders/matmul-f32.wgsl?raw';
import u32Source from '../../shaders/matmul-u32.wgsl?raw';
import type { KernelRun } from '../kernels/kernel.ts';
import { assertMatmulFits, decodeMatmulCheckpoint, encodeMatmulCheckpoint, type MatmulElement, matmulDataInputs, matmulStreams } from '../kernels/matmul.ts';
import { seedToKey } from '../kernels/philox.ts';
import type { MatmulParams } from '../protocol/schemas.ts';
import { SliceSizer } from '../worker/slice-sizer.ts';
import type { GpuContext } from './gpu-context.ts';
import { encodePhiloxFill } from './philox-fill.ts';

/** Must match TILE_M and TILE_N in shaders/matmul-blocked.wgsl. */
const kTile = 64;
/** Browsers lose a device whose submit runs for seconds; stay near 100 ms (DESIGN.md). */
export const kMaxSubmitMs = 100;

const sources: Record<MatmulElement, string> = { f32: f32Source, u32: u32Source };

/**
 * matmul-f32 and matmul-u32 on WebGPU (`shaders/matmul-blocked.wgsl`): inputs generated on
 * the GPU from the seed, then a band of rows per submit, sized from the measured time per
 * row so each submit stays near 100 ms.
 */
export class GpuMatmulRun implements KernelRun {
  readonly backend = 'webgpu' as const;
  private rowsDone: number;
  private readonly sizer: SliceSizer;
  private readonly label: string;

  private constructor(
    private readonly gpu: GpuContext,
    private readonly element: MatmulElement,
    private readonly params: MatmulParams,
    private readonly buffers: { a: GPUBuffer; b: GPUBuffer; c: GPUBuffer; shape: GPUBuffer },
    private readonly bindGroup: GPUBindGroup,
    rowsDone: number,
  ) {
    this.rowsDone = rowsDone;
    this.label = `matmul-${element}`;
    this.sizer = new SliceSizer(kTile, Math.ceil(params.m / kTile) * kTile);
  }

  static async create(gpu: GpuContext, element: MatmulElement, params: MatmulParams, checkpoint?: Uint8Array): Promise<GpuMatmulRun> {
    assertMatmulFits(params);
    // Checked before any buffer is taken, so a bad checkpoint leaks nothing.
    const restored = checkpoint ? decodeMatmulCheckpoint(checkpoint, params) : undefined;
    const data = await matmulDataInputs(params);
    gpu.throwIfFailed();
    const label = `matmul-${element}`;
    const { device, buffers: pool } = gpu;
    const { m, n, k } = params;
    gpu.assertBindable(`${label} A`, m * k * 4);
    gpu.assertBindable(`${label} B`, k * n * 4);
    gpu.assertBindable(`${label} C`, m * n * 4);
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const buffers = {
      a: pool.acquire(`${label} A`, m * k * 4, storage),
      b: pool.acquire(`${label} B`, k * n * 4, storage),
      c: pool.acquire(`${label} C`, m * n * 4, storage | GPUBufferUsage.COPY_SRC),
      shape: pool.acquire(`${label} shape`, 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
    };
    const scratch: GPUBuffer[] = [];
    try {
      if (data) {
        device.queue.writeBuffer(buffers.a, 0, data.a);
        device.queue.writeBuffer(buffers.b, 0, data.b);
      }
      const key = seedToKey(params.seed);
      const asFloat = element === 'f32';
      await gpu.submitAndWait(`${label} inputs`, (encoder) => {
        if (data) return;
        encodePhiloxFill(gpu, encoder, buffers.a, { key, stream: matmulStreams.a, row0: params.rowOffset, col0: 0, rows: m, cols: k, asFloat }, scratch);
        encodePhiloxFill(gpu, encoder, buffers.b, { key, stream: matmulStreams.b, row0: 0, col0: params.colOffset, rows: k, cols: n, asFloat }, scratch);
      });
    } catch (error) {
      for (const buffer of Object.values(buffers)) pool.release(buffer);
      throw error;
    } finally {
      for (const buffer of scratch) pool.release(buffer);
    }
    if (restored && restored.rowsDone > 0) device.queue.writeBuffer(buffers.c, 0, restored.rows);
    const rowsDone = restored?.rowsDone ?? 0;
    const pipeline = gpu.pipeline(label, [sources[element], blockedSource]);
    const bindGroup = device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: [buffers.a, buffers.b, buffers.c, buffers.shape].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    return new GpuMatmulRun(gpu, element, params, buffers, bindGroup, rowsDone);
  }

  async step(budgetMs: number): Promise<number> {
    const { m, n, k } = this.params;
    const { device } = this.gpu;
    const pipeline = this.gpu.pipeline(this.label, [sources[this.element], blockedSource]);
    const started = performance.now();
    // At least one submit per step, so a step always makes progress.
    for (let first = true; this.rowsDone < m && (first || performance.now() - started < budgetMs); first = false) {
      const left = budgetMs - (performance.now() - started);
      const end = Math.min(m, this.rowsDone + this.sizer.next(Math.min(left, kMaxSubmitMs)));
      device.queue.writeBuffer(this.buffers.shape, 0, new Uint32Array([m, n, k, this.rowsDone, end]));
      const submitted = performance.now();
      await this.gpu.submitAndWait(this.label, (encoder) => {
        const pass = encoder.beginComputePass({ label: this.label });
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, this.bindGroup);
        pass.dispatchWorkgroups(Math.ceil(n / kTile), Math.ceil((end - this.rowsDone) / kTile));
        pass.end();
      });
      this.sizer.record(end - this.rowsDone, performance.now() - submitted);
      this.rowsDone = end;
    }
    return this.rowsDone / m;
  }

  async checkpoint(): Promise<Uint8Array> {
    return encodeMatmulCheckpoint(this.rowsDone, await this.gpu.read(this.label, this.buffers.c, this.rowsDone * this.params.n * 4));
  }

  async finish(): Promise<Uint8Array> {
    if (this.rowsDone < this.params.m) throw new Error(`${this.label}: finish() before the last row (${this.rowsDone}/${this.params.m})`);
    return this.gpu.read(this.label, this.buffers.c, this.params.m * this.params.n * 4);
  }

  dispose(): void {
    for (const buffer of Object.values(this.buffers)) this.gpu.buffers.release(buffer);
  }
}
