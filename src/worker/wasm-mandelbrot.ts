import type { KernelRun } from '../kernels/kernel.ts';
import { decodeMandelbrotCheckpoint, encodeMandelbrotCheckpoint, mandelbrotCoordinates } from '../kernels/mandelbrot.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';
import { SliceSizer } from './slice-sizer.ts';
import { instantiateSurgeWasm, type SurgeWasmExports } from './surge-wasm.ts';

/**
 * Work is sliced in units of iterations (plus one per pixel), not pixels: one pixel may take
 * one iteration or a million. `wasm/mandelbrot.ts` keeps an unfinished pixel's orbit in its
 * state block, so a slice can stop anywhere. The cap keeps `i + budget` inside u32 there.
 */
const kGranule = 1024;
const kMaxBudget = 2 ** 30;

/**
 * mandelbrot on the AssemblyScript kernel (`wasm/mandelbrot.ts`): the exact coordinates of
 * every column and row computed once here in BigInt, then slices of iterations per call so
 * a step keeps to its budget.
 */
export class WasmMandelbrotRun implements KernelRun {
  readonly backend = 'wasm' as const;
  private readonly sizer = new SliceSizer(kGranule, kMaxBudget);
  private readonly total: number;

  private constructor(
    private readonly wasm: SurgeWasmExports,
    private readonly params: MandelbrotParams,
    private readonly pointers: { coords: number; out: number; state: number },
  ) {
    this.total = params.width * params.height;
  }

  static async create(module: WebAssembly.Module, params: MandelbrotParams, checkpoint?: Uint8Array): Promise<WasmMandelbrotRun> {
    const coordinates = mandelbrotCoordinates(params);
    const restored = checkpoint ? decodeMandelbrotCheckpoint(checkpoint, params) : undefined;
    const wasm = await instantiateSurgeWasm(module);
    const stateBytes = wasm.mandelbrotStateBytes();
    const pointers = {
      coords: wasm.alloc(coordinates.byteLength),
      out: wasm.alloc(params.width * params.height * 4),
      state: wasm.alloc(stateBytes),
    };
    // Views after every alloc: growing the memory detaches older ones.
    const memory = wasm.memory.buffer;
    new Uint32Array(memory, pointers.coords, coordinates.length).set(coordinates);
    new Uint8Array(memory, pointers.state, stateBytes).fill(0);
    if (restored) {
      new Uint8Array(memory, pointers.out, restored.counts.byteLength).set(restored.counts);
      new DataView(memory).setUint32(pointers.state, restored.pixelsDone, true);
    }
    return new WasmMandelbrotRun(wasm, params, pointers);
  }

  /** Finished pixels, from the kernel's state block. */
  private get pixelsDone(): number {
    return new DataView(this.wasm.memory.buffer).getUint32(this.pointers.state, true);
  }

  async step(budgetMs: number): Promise<number> {
    const { width, maxIterations } = this.params;
    const { coords, out, state } = this.pointers;
    const started = performance.now();
    // At least one slice per step, so a step always makes progress.
    for (let first = true; this.pixelsDone < this.total && (first || performance.now() - started < budgetMs); first = false) {
      const budget = this.sizer.next(budgetMs - (performance.now() - started));
      const sliceStarted = performance.now();
      const used = this.wasm.mandelbrotRun(coords, width, maxIterations, out, state, this.total, budget);
      this.sizer.record(used, performance.now() - sliceStarted);
    }
    return this.pixelsDone / this.total;
  }

  private counts(pixels: number): Uint8Array {
    return new Uint8Array(this.wasm.memory.buffer, this.pointers.out, pixels * 4).slice();
  }

  async checkpoint(): Promise<Uint8Array> {
    const pixelsDone = this.pixelsDone;
    return encodeMandelbrotCheckpoint(pixelsDone, this.counts(pixelsDone));
  }

  async finish(): Promise<Uint8Array> {
    if (this.pixelsDone < this.total) throw new Error(`mandelbrot: finish() before the last pixel (${this.pixelsDone}/${this.total})`);
    return this.counts(this.total);
  }

  dispose(): void {}
}
