import source from '../../shaders/mandelbrot.wgsl?raw';
import type { KernelRun } from '../kernels/kernel.ts';
import { decodeMandelbrotCheckpoint, encodeMandelbrotCheckpoint, mandelbrotCoordinates } from '../kernels/mandelbrot.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';
import { SliceSizer } from '../worker/slice-sizer.ts';
import type { GpuContext } from './gpu-context.ts';
import { kMaxSubmitMs } from './gpu-matmul.ts';

/** Must match WORKGROUP_SIZE in shaders/mandelbrot.wgsl. */
const kWorkgroupSize = 64;
/** Must match the size of `Orbit` in shaders/mandelbrot.wgsl (40 bytes, rounded up to its 16-byte alignment). */
const kOrbitBytes = 48;
/**
 * The most pixels in flight at once: enough invocations to fill a large GPU, few enough
 * that the orbits take 3 MiB and a checkpoint (which keeps whole bands only) loses little.
 * Bands start at one workgroup and grow with the measured rate, so that even one iteration
 * of every pixel of a band fits a submit on a slow adapter (SwiftShader on two CPU cores ran
 * about 400 000 iterations a second).
 */
const kMaxBandPixels = 1 << 16;
/** Work units per dispatch stay below this, so the shader's u32 work counter cannot wrap. */
const kMaxWork = 2 ** 31;

const kLabel = 'mandelbrot';

interface Band {
  start: number;
  end: number;
  /** Pixels of the band still running after the last dispatch. */
  active: number;
  /** Its orbits are not yet cleared to zero. */
  fresh: boolean;
}

/**
 * mandelbrot on WebGPU (`shaders/mandelbrot.wgsl`): bands of pixels in row-major order; per
 * submit, every running pixel of the band advances by at most `chunk` iterations, with
 * `chunk` sized from the measured work rate so a submit stays near 100 ms however deep the
 * orbits go. The shader reports the pixels still running, and the band is done when none
 * are.
 */
export class GpuMandelbrotRun implements KernelRun {
  readonly backend = 'webgpu' as const;
  private readonly total: number;
  private readonly sizer: SliceSizer;
  /** Pixels of finished bands: what a checkpoint keeps. */
  private pixelsDone: number;
  private band: Band | undefined;

  private constructor(
    private readonly gpu: GpuContext,
    private readonly params: MandelbrotParams,
    private readonly buffers: { coords: GPUBuffer; orbits: GPUBuffer; counts: GPUBuffer; counters: GPUBuffer; tile: GPUBuffer; readback: GPUBuffer },
    private readonly bindGroup: GPUBindGroup,
    pixelsDone: number,
  ) {
    this.total = params.width * params.height;
    this.pixelsDone = pixelsDone;
    // In work units (one per iteration, one per running pixel, as the shader counts them).
    this.sizer = new SliceSizer(kWorkgroupSize, kMaxWork);
  }

  static async create(gpu: GpuContext, params: MandelbrotParams, checkpoint?: Uint8Array): Promise<GpuMandelbrotRun> {
    const coordinates = mandelbrotCoordinates(params);
    const restored = checkpoint ? decodeMandelbrotCheckpoint(checkpoint, params) : undefined;
    gpu.throwIfFailed();
    const { device, buffers: pool } = gpu;
    const total = params.width * params.height;
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const buffers = {
      coords: pool.acquire(`${kLabel} coords`, coordinates.byteLength, storage),
      orbits: pool.acquire(`${kLabel} orbits`, Math.min(total, kMaxBandPixels) * kOrbitBytes, storage),
      counts: pool.acquire(`${kLabel} counts`, total * 4, storage | GPUBufferUsage.COPY_SRC),
      counters: pool.acquire(`${kLabel} counters`, 8, storage | GPUBufferUsage.COPY_SRC),
      tile: pool.acquire(`${kLabel} tile`, 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      readback: pool.acquire(`${kLabel} counters readback`, 8, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
    };
    try {
      device.queue.writeBuffer(buffers.coords, 0, coordinates);
      if (restored && restored.pixelsDone > 0) device.queue.writeBuffer(buffers.counts, 0, restored.counts);
      const pipeline = gpu.pipeline(kLabel, [source]);
      const bindGroup = device.createBindGroup({
        label: kLabel,
        layout: pipeline.getBindGroupLayout(0),
        entries: [buffers.coords, buffers.orbits, buffers.counts, buffers.counters, buffers.tile].map((buffer, binding) => ({ binding, resource: { buffer } })),
      });
      return new GpuMandelbrotRun(gpu, params, buffers, bindGroup, restored?.pixelsDone ?? 0);
    } catch (error) {
      for (const buffer of Object.values(buffers)) pool.release(buffer);
      throw error;
    }
  }

  /** A band whose first dispatch, at one iteration per pixel (two units), fits `work`. */
  private nextBand(work: number): Band {
    const pixels = Math.max(kWorkgroupSize, Math.min(kMaxBandPixels, Math.floor(work / 2 / kWorkgroupSize) * kWorkgroupSize));
    const end = Math.min(this.total, this.pixelsDone + pixels);
    this.band = { start: this.pixelsDone, end, active: end - this.pixelsDone, fresh: true };
    return this.band;
  }

  async step(budgetMs: number): Promise<number> {
    const { width, maxIterations } = this.params;
    const { device } = this.gpu;
    const { orbits, counters, tile, readback } = this.buffers;
    const pipeline = this.gpu.pipeline(kLabel, [source]);
    const started = performance.now();
    // At least one submit per step, so a step always makes progress.
    for (let first = true; this.pixelsDone < this.total && (first || performance.now() - started < budgetMs); first = false) {
      const left = budgetMs - (performance.now() - started);
      const work = this.sizer.next(Math.min(left, kMaxSubmitMs));
      const band = this.band ?? this.nextBand(work);
      // Each running pixel costs its iterations plus one.
      const chunk = Math.max(1, Math.min(maxIterations, Math.floor(work / band.active) - 1));
      device.queue.writeBuffer(tile, 0, new Uint32Array([width, band.start, band.end, maxIterations, chunk]));
      device.queue.writeBuffer(counters, 0, new Uint32Array(2));
      const submitted = performance.now();
      await this.gpu.submitAndWait(kLabel, (encoder) => {
        if (band.fresh) encoder.clearBuffer(orbits, 0, (band.end - band.start) * kOrbitBytes);
        const pass = encoder.beginComputePass({ label: kLabel });
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, this.bindGroup);
        pass.dispatchWorkgroups(Math.ceil((band.end - band.start) / kWorkgroupSize));
        pass.end();
        encoder.copyBufferToBuffer(counters, 0, readback, 0, 8);
      });
      band.fresh = false;
      const [active, done] = await this.readCounters();
      this.sizer.record(done, performance.now() - submitted);
      band.active = active;
      if (active === 0) {
        this.pixelsDone = band.end;
        this.band = undefined;
      }
    }
    const inBand = this.band ? this.band.end - this.band.start - this.band.active : 0;
    return (this.pixelsDone + inBand) / this.total;
  }

  /** The counters the last dispatch left: pixels still running, and work units done. */
  private async readCounters(): Promise<[number, number]> {
    const { readback } = this.buffers;
    try {
      await readback.mapAsync(GPUMapMode.READ, 0, 8);
    } catch (error) {
      this.gpu.throwIfFailed();
      throw error;
    }
    const [active = 0, done = 0] = new Uint32Array(readback.getMappedRange(0, 8).slice(0));
    readback.unmap();
    return [active, done];
  }

  async checkpoint(): Promise<Uint8Array> {
    return encodeMandelbrotCheckpoint(this.pixelsDone, await this.gpu.read(kLabel, this.buffers.counts, this.pixelsDone * 4));
  }

  async finish(): Promise<Uint8Array> {
    if (this.pixelsDone < this.total) throw new Error(`mandelbrot: finish() before the last pixel (${this.pixelsDone}/${this.total})`);
    return this.gpu.read(kLabel, this.buffers.counts, this.total * 4);
  }

  dispose(): void {
    for (const buffer of Object.values(this.buffers)) this.gpu.buffers.release(buffer);
  }
}
