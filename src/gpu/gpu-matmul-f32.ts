import shaderSource from '../../shaders/matmul-f32.wgsl?raw';
import type { KernelRun } from '../kernels/kernel.ts';
import { assertMatmulFits, decodeMatmulCheckpoint, encodeMatmulCheckpoint, matmulInputA, matmulInputB } from '../kernels/matmul-f32.ts';
import type { MatmulParams } from '../protocol/schemas.ts';
import { SliceSizer } from '../worker/slice-sizer.ts';
import type { GpuContext } from './gpu-context.ts';

/** Must match `TILE` in shaders/matmul-f32.wgsl. */
const kTile = 16;
/** Browsers lose a device whose submit runs for seconds; stay near 100 ms (DESIGN.md). */
const kMaxSubmitMs = 100;

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();

/** The compiled pipeline for a device, made once and keyed explicitly by that device. */
function pipelineFor(device: GPUDevice): GPUComputePipeline {
  let pipeline = pipelines.get(device);
  if (!pipeline) {
    const module = device.createShaderModule({ label: 'matmul-f32', code: shaderSource });
    pipeline = device.createComputePipeline({ label: 'matmul-f32', layout: 'auto', compute: { module, entryPoint: 'main' } });
    pipelines.set(device, pipeline);
  }
  return pipeline;
}

/** matmul-f32 on WebGPU (`shaders/matmul-f32.wgsl`), a band of rows per submit. */
export class GpuMatmulF32Run implements KernelRun {
  readonly backend = 'webgpu' as const;
  private rowsDone: number;
  private readonly sizer: SliceSizer;
  private readonly buffers: GPUBuffer[];

  private constructor(
    private readonly gpu: GpuContext,
    private readonly params: MatmulParams,
    private readonly c: GPUBuffer,
    private readonly shape: GPUBuffer,
    private readonly bindGroup: GPUBindGroup,
    others: GPUBuffer[],
    rowsDone: number,
  ) {
    this.rowsDone = rowsDone;
    this.buffers = [c, shape, ...others];
    this.sizer = new SliceSizer(kTile, Math.ceil(params.m / kTile) * kTile);
  }

  static async create(gpu: GpuContext, params: MatmulParams, checkpoint?: Uint8Array): Promise<GpuMatmulF32Run> {
    assertMatmulFits(params);
    gpu.throwIfFailed();
    const { device } = gpu;
    const { m, n, k } = params;
    const storage = (label: string, size: number, usage: number) => device.createBuffer({ label: `matmul-f32 ${label}`, size: Math.max(size, 4), usage });
    const a = storage('A', m * k * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    const b = storage('B', k * n * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST);
    const c = storage('C', m * n * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC);
    const shape = storage('shape', 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(a, 0, matmulInputA(params));
    device.queue.writeBuffer(b, 0, matmulInputB(params));
    let rowsDone = 0;
    if (checkpoint) {
      const restored = decodeMatmulCheckpoint(checkpoint, params);
      if (restored.rowsDone > 0) device.queue.writeBuffer(c, 0, restored.rows);
      rowsDone = restored.rowsDone;
    }
    const pipeline = pipelineFor(device);
    const bindGroup = device.createBindGroup({
      label: 'matmul-f32',
      layout: pipeline.getBindGroupLayout(0),
      entries: [a, b, c, shape].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    return new GpuMatmulF32Run(gpu, params, c, shape, bindGroup, [a, b], rowsDone);
  }

  async step(budgetMs: number): Promise<number> {
    const { m, n, k } = this.params;
    const { device } = this.gpu;
    const started = performance.now();
    // At least one slice per step, so a step always makes progress.
    for (let first = true; this.rowsDone < m && (first || performance.now() - started < budgetMs); first = false) {
      this.gpu.throwIfFailed();
      const left = budgetMs - (performance.now() - started);
      const end = Math.min(m, this.rowsDone + this.sizer.next(Math.min(left, kMaxSubmitMs)));
      device.queue.writeBuffer(this.shape, 0, new Uint32Array([m, n, k, this.rowsDone, end]));
      const encoder = device.createCommandEncoder({ label: 'matmul-f32' });
      const pass = encoder.beginComputePass({ label: 'matmul-f32' });
      pass.setPipeline(pipelineFor(device));
      pass.setBindGroup(0, this.bindGroup);
      pass.dispatchWorkgroups(Math.ceil(n / kTile), Math.ceil((end - this.rowsDone) / kTile));
      pass.end();
      const submitted = performance.now();
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
      this.gpu.throwIfFailed();
      this.sizer.record(end - this.rowsDone, performance.now() - submitted);
      this.rowsDone = end;
    }
    return this.rowsDone / m;
  }

  /** Copies the first `count` rows of C back from the GPU. */
  private async readRows(count: number): Promise<Float32Array> {
    const bytes = count * this.params.n * 4;
    if (bytes === 0) return new Float32Array(0);
    const { device } = this.gpu;
    const staging = device.createBuffer({ label: 'matmul-f32 readback', size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const encoder = device.createCommandEncoder({ label: 'matmul-f32 readback' });
      encoder.copyBufferToBuffer(this.c, 0, staging, 0, bytes);
      device.queue.submit([encoder.finish()]);
      try {
        await staging.mapAsync(GPUMapMode.READ);
      } catch (error) {
        this.gpu.throwIfFailed();
        throw error;
      }
      return new Float32Array(staging.getMappedRange().slice(0));
    } finally {
      staging.destroy();
    }
  }

  async checkpoint(): Promise<Uint8Array> {
    return encodeMatmulCheckpoint(this.rowsDone, await this.readRows(this.rowsDone));
  }

  async finish(): Promise<Uint8Array> {
    if (this.rowsDone < this.params.m) throw new Error(`matmul-f32: finish() before the last row (${this.rowsDone}/${this.params.m})`);
    return new Uint8Array((await this.readRows(this.params.m)).buffer);
  }

  dispose(): void {
    for (const buffer of this.buffers) buffer.destroy();
  }
}
