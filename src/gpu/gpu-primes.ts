import source from '../../shaders/primes.wgsl?raw';
import type { KernelRun } from '../kernels/kernel.ts';
import {
  assertPrimesFits,
  basePrimes,
  countAtMost,
  decodePrimesCheckpoint,
  encodePrimesCheckpoint,
  kPrimesBlockBytes,
  primesBlockCount,
  primesSieveLimit,
} from '../kernels/primes.ts';
import type { PrimesParams } from '../protocol/schemas.ts';
import { SliceSizer } from '../worker/slice-sizer.ts';
import type { GpuContext } from './gpu-context.ts';
import { kMaxSubmitMs } from './gpu-matmul.ts';

/** Must match WORKGROUP, SEGMENT_BITS and SEGMENT_WORDS in shaders/primes.wgsl. */
const kWorkgroup = 256;
const kSegmentBits = 65536;
const kSegmentWords = kSegmentBits / 32;
/** Primes below this are crossed by a whole workgroup together (tiny_count ≤ 256). */
const kTinyLimit = 1024;
/** The most bits one submit sieves: an 8 MiB bitmap, 2²⁷ numbers. */
const kMaxSubmitBits = 2 ** 26;
/** Must match NO_BLOCK in shaders/primes.wgsl. */
const kNoBlock = 0xffffffff;

const kPipelines = { large: 'primes large primes', segments: 'primes segments' } as const;

/** The shader compiled for one phase; `GpuContext.pipeline` compiles entry point `main` only. */
function phasePipeline(gpu: GpuContext, phase: keyof typeof kPipelines): GPUComputePipeline {
  return gpu.pipeline(kPipelines[phase], [`const PHASE: u32 = ${phase === 'large' ? 0 : 1}u;`, source]);
}

/** Splits a Number below 2⁵³ into its high and low u32 words. */
function words64(value: number): [number, number] {
  return [Math.floor(value / 2 ** 32), value >>> 0];
}

/**
 * primes on WebGPU (`shaders/primes.wgsl`): the base primes are sieved once on the CPU and
 * uploaded; each submit clears a bitmap for a range of whole blocks, crosses the large
 * primes in it, then sieves the small primes and counts, one workgroup per segment, into
 * per-block counters that stay on the GPU until a checkpoint or the end. The blocks per
 * submit are sized from the measured time so a submit stays near 100 ms.
 */
export class GpuPrimesRun implements KernelRun {
  readonly backend = 'webgpu' as const;
  private blocksDone: number;
  private readonly blocks: number;
  private readonly sizer: SliceSizer;

  private constructor(
    private readonly gpu: GpuContext,
    private readonly params: PrimesParams,
    private readonly buffers: { primes: GPUBuffer; sieve: GPUBuffer; counts: GPUBuffer; uniforms: GPUBuffer },
    private readonly bindGroups: { large: GPUBindGroup; segments: GPUBindGroup },
    private readonly primeCounts: { tiny: number; small: number; all: number },
    blocksDone: number,
  ) {
    this.blocks = primesBlockCount(params);
    this.blocksDone = blocksDone;
    this.sizer = new SliceSizer(1, Math.min(this.blocks, maxBlocksPerSubmit(params)));
  }

  static async create(gpu: GpuContext, params: PrimesParams, checkpoint?: Uint8Array): Promise<GpuPrimesRun> {
    assertPrimesFits(params);
    const restored = checkpoint ? decodePrimesCheckpoint(checkpoint, params) : undefined;
    gpu.throwIfFailed();
    // Odd base primes only; 2 is left out of the bitmap and counted by the shader.
    const odd = basePrimes(primesSieveLimit(params.hi)).subarray(1);
    // Below 2⁵³ there are at most 5.4 million large primes: 21 500 workgroups of the large
    // phase, under the 65 535 a dispatch may have in one dimension.
    const large = odd.length - countAtMost(odd, kSegmentBits - 1);
    const { device, buffers: pool } = gpu;
    const blocks = primesBlockCount(params);
    const storage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const acquired: GPUBuffer[] = [];
    const acquire = (name: string, bytes: number, usage: GPUBufferUsageFlags) => {
      const buffer = pool.acquire(`primes ${name}`, bytes, usage);
      acquired.push(buffer);
      return buffer;
    };
    try {
      const buffers = {
        primes: acquire('base primes', Math.max(4, odd.byteLength), storage),
        sieve: acquire('bitmap', sieveWords(maxSubmitEndBit(params)) * 4, storage),
        counts: acquire('counts', blocks * kPrimesBlockBytes, storage | GPUBufferUsage.COPY_SRC),
        uniforms: acquire('params', 48, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      };
      if (odd.length > 0) device.queue.writeBuffer(buffers.primes, 0, odd);
      // Pooled buffers hold old data: write every block's counts, zero past the checkpoint.
      const counts = new Uint8Array(blocks * kPrimesBlockBytes);
      if (restored) counts.set(restored.counts);
      device.queue.writeBuffer(buffers.counts, 0, counts);
      const bindGroup = (phase: keyof typeof kPipelines) =>
        device.createBindGroup({
          label: kPipelines[phase],
          layout: phasePipeline(gpu, phase).getBindGroupLayout(0),
          entries: [buffers.primes, buffers.sieve, buffers.counts, buffers.uniforms].map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
      const primeCounts = { tiny: countAtMost(odd, kTinyLimit - 1), small: odd.length - large, all: odd.length };
      return new GpuPrimesRun(gpu, params, buffers, { large: bindGroup('large'), segments: bindGroup('segments') }, primeCounts, restored?.blocksDone ?? 0);
    } catch (error) {
      for (const buffer of acquired) pool.release(buffer);
      throw error;
    }
  }

  async step(budgetMs: number): Promise<number> {
    const started = performance.now();
    // At least one submit per step, so a step always makes progress.
    for (let first = true; this.blocksDone < this.blocks && (first || performance.now() - started < budgetMs); first = false) {
      const left = budgetMs - (performance.now() - started);
      const end = Math.min(this.blocks, this.blocksDone + this.sizer.next(Math.min(left, kMaxSubmitMs)));
      const submitted = performance.now();
      await this.submit(this.blocksDone, end);
      this.sizer.record(end - this.blocksDone, performance.now() - submitted);
      this.blocksDone = end;
    }
    return this.blocksDone / this.blocks;
  }

  /** Sieves and counts blocks [first, end) in one submit. */
  private async submit(first: number, end: number): Promise<void> {
    const { lo, hi, blockSize } = this.params;
    const start = lo + first * blockSize;
    const base = start - (start % 2);
    const endBit = Math.floor((Math.min(hi, lo + end * blockSize) - base) / 2);
    const words = sieveWords(endBit);
    const holdsTwo = start <= 2 && Math.min(hi, lo + end * blockSize) > 2;
    const { tiny, small, all } = this.primeCounts;
    this.gpu.device.queue.writeBuffer(
      this.buffers.uniforms,
      0,
      new Uint32Array([...words64(base), endBit, words, blockSize / 2, first, holdsTwo ? first : kNoBlock, tiny, small, all]),
    );
    await this.gpu.submitAndWait('primes', (encoder) => {
      encoder.clearBuffer(this.buffers.sieve, 0, words * 4);
      const pass = encoder.beginComputePass({ label: 'primes' });
      if (all > small) {
        pass.setPipeline(phasePipeline(this.gpu, 'large'));
        pass.setBindGroup(0, this.bindGroups.large);
        pass.dispatchWorkgroups(Math.ceil((all - small) / kWorkgroup));
      }
      pass.setPipeline(phasePipeline(this.gpu, 'segments'));
      pass.setBindGroup(0, this.bindGroups.segments);
      pass.dispatchWorkgroups((words - 1) / kSegmentWords);
      pass.end();
    });
  }

  async checkpoint(): Promise<Uint8Array> {
    return encodePrimesCheckpoint(this.blocksDone, await this.gpu.read('primes counts', this.buffers.counts, this.blocksDone * kPrimesBlockBytes));
  }

  async finish(): Promise<Uint8Array> {
    if (this.blocksDone < this.blocks) throw new Error(`primes: finish() before the last block (${this.blocksDone}/${this.blocks})`);
    return this.gpu.read('primes counts', this.buffers.counts, this.blocks * kPrimesBlockBytes);
  }

  dispose(): void {
    for (const buffer of Object.values(this.buffers)) this.gpu.buffers.release(buffer);
  }
}

/** Blocks per submit such that the bitmap stays within kMaxSubmitBits (at least one). */
function maxBlocksPerSubmit({ blockSize }: PrimesParams): number {
  return Math.max(1, Math.floor(kMaxSubmitBits / (blockSize / 2)));
}

/** The largest end bit of any submit of the unit. */
function maxSubmitEndBit(params: PrimesParams): number {
  const { lo, hi, blockSize } = params;
  return Math.min((maxBlocksPerSubmit(params) * blockSize) / 2, Math.floor((hi - (lo - (lo % 2))) / 2));
}

/** Bitmap words for bits [0, endBit]: whole segments, plus the word after the last. */
function sieveWords(endBit: number): number {
  return (Math.floor(endBit / kSegmentBits) + 1) * kSegmentWords + 1;
}
