import type { KernelRun } from '../kernels/kernel.ts';
import { assertMatmulFits, decodeMatmulCheckpoint, encodeMatmulCheckpoint, matmulInputA, matmulInputB } from '../kernels/matmul-f32.ts';
import type { MatmulParams } from '../protocol/schemas.ts';
import { SliceSizer } from './slice-sizer.ts';

interface MatmulExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  matmulRows(a: number, b: number, c: number, n: number, k: number, rowStart: number, rowEnd: number): void;
}

/** matmul-f32 on the AssemblyScript SIMD kernel (`wasm/matmul-f32.ts`), a slice of rows per call. */
export class WasmMatmulF32Run implements KernelRun {
  readonly backend = 'wasm' as const;
  private rowsDone: number;
  private readonly sizer = new SliceSizer(4);

  private constructor(
    private readonly exports: MatmulExports,
    private readonly params: MatmulParams,
    private readonly pointers: { a: number; b: number; c: number },
    rowsDone: number,
  ) {
    this.rowsDone = rowsDone;
  }

  static async create(module: WebAssembly.Module, params: MatmulParams, checkpoint?: Uint8Array): Promise<WasmMatmulF32Run> {
    assertMatmulFits(params);
    const instance = await WebAssembly.instantiate(module, {
      env: {
        abort: () => {
          throw new Error('matmul-f32.wasm aborted');
        },
      },
    });
    const exports = instance.exports as unknown as MatmulExports;
    const { m, n, k } = params;
    const pointers = { a: exports.alloc(m * k * 4), b: exports.alloc(k * n * 4), c: exports.alloc(m * n * 4) };
    // Views are made after every allocation: growing memory detaches earlier views.
    const memory = exports.memory.buffer;
    new Float32Array(memory, pointers.a, m * k).set(matmulInputA(params));
    new Float32Array(memory, pointers.b, k * n).set(matmulInputB(params));
    let rowsDone = 0;
    if (checkpoint) {
      const restored = decodeMatmulCheckpoint(checkpoint, params);
      new Float32Array(memory, pointers.c, restored.rowsDone * n).set(restored.rows);
      rowsDone = restored.rowsDone;
    }
    return new WasmMatmulF32Run(exports, params, pointers, rowsDone);
  }

  async step(budgetMs: number): Promise<number> {
    const { m, n, k } = this.params;
    const started = performance.now();
    // At least one slice per step, so a step always makes progress.
    for (let first = true; this.rowsDone < m && (first || performance.now() - started < budgetMs); first = false) {
      const end = Math.min(m, this.rowsDone + this.sizer.next(budgetMs - (performance.now() - started)));
      const sliceStarted = performance.now();
      this.exports.matmulRows(this.pointers.a, this.pointers.b, this.pointers.c, n, k, this.rowsDone, end);
      this.sizer.record(end - this.rowsDone, performance.now() - sliceStarted);
      this.rowsDone = end;
    }
    return this.rowsDone / m;
  }

  private rows(count: number): Float32Array {
    return new Float32Array(this.exports.memory.buffer, this.pointers.c, count * this.params.n).slice();
  }

  async checkpoint(): Promise<Uint8Array> {
    return encodeMatmulCheckpoint(this.rowsDone, this.rows(this.rowsDone));
  }

  async finish(): Promise<Uint8Array> {
    if (this.rowsDone < this.params.m) throw new Error(`matmul-f32: finish() before the last row (${this.rowsDone}/${this.params.m})`);
    return new Uint8Array(this.rows(this.params.m).buffer);
  }

  dispose(): void {}
}
