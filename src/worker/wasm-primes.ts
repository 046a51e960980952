import type { KernelRun } from '../kernels/kernel.ts';
import { assertPrimesFits, decodePrimesCheckpoint, encodePrimesCheckpoint, kPrimesBlockBytes, primesBlockCount } from '../kernels/primes.ts';
import type { PrimesParams } from '../protocol/schemas.ts';
import { SliceSizer } from './slice-sizer.ts';
import { instantiateSurgeWasm, type SurgeWasmExports } from './surge-wasm.ts';

/**
 * primes on the AssemblyScript segmented sieve (`wasm/primes.ts`): the base primes are
 * sieved once in `create`, then each call counts a slice of blocks, sized from the measured
 * time per block so a step keeps to its budget. The sieve keeps its position between calls.
 */
export class WasmPrimesRun implements KernelRun {
  readonly backend = 'wasm' as const;
  private blocksDone: number;
  private readonly blocks: number;
  private readonly sizer: SliceSizer;

  private constructor(
    private readonly wasm: SurgeWasmExports,
    private readonly counts: number,
    params: PrimesParams,
    blocksDone: number,
  ) {
    this.blocks = primesBlockCount(params);
    this.blocksDone = blocksDone;
    this.sizer = new SliceSizer(1, this.blocks);
  }

  static async create(module: WebAssembly.Module, params: PrimesParams, checkpoint?: Uint8Array): Promise<WasmPrimesRun> {
    assertPrimesFits(params);
    const restored = checkpoint ? decodePrimesCheckpoint(checkpoint, params) : undefined;
    const wasm = await instantiateSurgeWasm(module);
    const blocksDone = restored?.blocksDone ?? 0;
    const counts = wasm.primesInit(params.lo, params.hi, params.blockSize, blocksDone);
    if (restored) new Uint8Array(wasm.memory.buffer, counts, restored.counts.byteLength).set(restored.counts);
    return new WasmPrimesRun(wasm, counts, params, blocksDone);
  }

  async step(budgetMs: number): Promise<number> {
    const started = performance.now();
    // At least one slice per step, so a step always makes progress.
    for (let first = true; this.blocksDone < this.blocks && (first || performance.now() - started < budgetMs); first = false) {
      const end = Math.min(this.blocks, this.blocksDone + this.sizer.next(budgetMs - (performance.now() - started)));
      const sliceStarted = performance.now();
      this.wasm.primesCountBlocks(this.blocksDone, end);
      this.sizer.record(end - this.blocksDone, performance.now() - sliceStarted);
      this.blocksDone = end;
    }
    return this.blocksDone / this.blocks;
  }

  /** The counts of the first `blocks` blocks; memory may have grown, so the view is fresh. */
  private countBytes(blocks: number): Uint8Array {
    return new Uint8Array(this.wasm.memory.buffer, this.counts, blocks * kPrimesBlockBytes).slice();
  }

  async checkpoint(): Promise<Uint8Array> {
    return encodePrimesCheckpoint(this.blocksDone, this.countBytes(this.blocksDone));
  }

  async finish(): Promise<Uint8Array> {
    if (this.blocksDone < this.blocks) throw new Error(`primes: finish() before the last block (${this.blocksDone}/${this.blocks})`);
    return this.countBytes(this.blocks);
  }

  dispose(): void {}
}
