import type { KernelRun } from '../kernels/kernel.ts';
import { assertMatmulFits, decodeMatmulCheckpoint, encodeMatmulCheckpoint, type MatmulElement, matmulDataInputs, matmulStreams } from '../kernels/matmul.ts';
import { seedToKey } from '../kernels/philox.ts';
import type { MatmulParams } from '../protocol/schemas.ts';
import { SliceSizer } from './slice-sizer.ts';
import { acquireSurgeWasm, releaseSurgeWasm, type SurgeWasmExports } from './surge-wasm.ts';

/**
 * matmul-f32 and matmul-u32 on the AssemblyScript SIMD kernel (`wasm/matmul-blocked.ts`):
 * inputs generated in WASM by its Philox, B packed into panels once, then a slice of rows
 * per call so a step keeps to its budget. Its buffers are written before they are read, so a
 * run reuses the instance of the run before it (`acquireSurgeWasm`).
 */
export class WasmMatmulRun implements KernelRun {
  readonly backend = 'wasm' as const;
  private rowsDone: number;
  private readonly sizer = new SliceSizer(6);
  private disposed = false;

  private constructor(
    private readonly module: WebAssembly.Module,
    private readonly wasm: SurgeWasmExports,
    private readonly element: MatmulElement,
    private readonly params: MatmulParams,
    private readonly pointers: { a: number; b: number; packed: number; scratch: number; c: number },
    rowsDone: number,
  ) {
    this.rowsDone = rowsDone;
  }

  static async create(module: WebAssembly.Module, element: MatmulElement, params: MatmulParams, checkpoint?: Uint8Array): Promise<WasmMatmulRun> {
    assertMatmulFits(params);
    const data = await matmulDataInputs(params);
    const wasm = await acquireSurgeWasm(module);
    const { m, n, k } = params;
    const pointers = {
      a: wasm.alloc(m * k * 4),
      b: wasm.alloc(k * n * 4),
      packed: wasm.alloc(wasm.matmulPackedBytes(n, k)),
      scratch: wasm.alloc(wasm.matmulScratchBytes()),
      c: wasm.alloc(m * n * 4),
    };
    if (data) {
      new Uint8Array(wasm.memory.buffer, pointers.a, data.a.byteLength).set(data.a);
      new Uint8Array(wasm.memory.buffer, pointers.b, data.b.byteLength).set(data.b);
    } else {
      const [key0, key1] = seedToKey(params.seed);
      const asFloat = element === 'f32' ? 1 : 0;
      wasm.philoxFill(pointers.a, key0, key1, matmulStreams.a, params.rowOffset, 0, m, k, asFloat);
      wasm.philoxFill(pointers.b, key0, key1, matmulStreams.b, 0, params.colOffset, k, n, asFloat);
    }
    wasm.packPanels(pointers.b, pointers.packed, n, k);
    let rowsDone = 0;
    if (checkpoint) {
      const restored = decodeMatmulCheckpoint(checkpoint, params);
      new Uint8Array(wasm.memory.buffer, pointers.c, restored.rows.byteLength).set(restored.rows);
      rowsDone = restored.rowsDone;
    }
    return new WasmMatmulRun(module, wasm, element, params, pointers, rowsDone);
  }

  async step(budgetMs: number): Promise<number> {
    const { m, n, k } = this.params;
    const { a, packed, scratch, c } = this.pointers;
    const rows = this.element === 'f32' ? this.wasm.matmulF32Rows : this.wasm.matmulU32Rows;
    const started = performance.now();
    // At least one slice per step, so a step always makes progress.
    for (let first = true; this.rowsDone < m && (first || performance.now() - started < budgetMs); first = false) {
      const end = Math.min(m, this.rowsDone + this.sizer.next(budgetMs - (performance.now() - started)));
      const sliceStarted = performance.now();
      rows(a, packed, scratch, c, n, k, this.rowsDone, end);
      this.sizer.record(end - this.rowsDone, performance.now() - sliceStarted);
      this.rowsDone = end;
    }
    return this.rowsDone / m;
  }

  private rowBytes(count: number): Uint8Array {
    return new Uint8Array(this.wasm.memory.buffer, this.pointers.c, count * this.params.n * 4).slice();
  }

  async checkpoint(): Promise<Uint8Array> {
    return encodeMatmulCheckpoint(this.rowsDone, this.rowBytes(this.rowsDone));
  }

  async finish(): Promise<Uint8Array> {
    if (this.rowsDone < this.params.m) throw new Error(`matmul: finish() before the last row (${this.rowsDone}/${this.params.m})`);
    return this.rowBytes(this.params.m);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    releaseSurgeWasm(this.module, this.wasm);
  }
}
