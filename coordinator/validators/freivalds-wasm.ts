import { matmulStreams } from '../../src/kernels/matmul.ts';
import { seedToKey } from '../../src/kernels/philox.ts';
import type { SurgeWasmExports } from '../../src/worker/surge-wasm.ts';
import { type FreivaldsOutcome, freivaldsKappa } from './freivalds-f32.ts';
import { instantiateSurgeWasmInNode } from './surge-wasm-node.ts';

/** The trials of one check: `freivaldsDots` meets each row with three signed vectors. */
export const kWasmFreivaldsTrials = 3;

/**
 * The most a dot of `freivaldsDots` can be off, relative to the sum of its terms' absolute
 * values: each SIMD lane adds 16 rounded products in f32 (γ₁₇ = 17u/(1 − 17u), u = 2⁻²⁴)
 * before its sum is carried in f64, plus room for the f64 sums and the rounding of a
 * projection to f32 (u).
 */
const kDotRelativeError = 1.2e-6;

/** Rows of B projected per call, so B is never held whole: 64 rows of a block 1,024 wide are 256 KiB. */
const kStripRows = 64;

/** A column block's projections serve this many checks, then fresh vectors are drawn for it. */
const kChecksPerDraw = 64;

/** Bytes of generated A blocks kept per thread; past it, all are dropped and generated again as needed. */
const kBlockBudgetBytes = 128 * 1024 * 1024;

/** One block of B (k × n, from column `colOffset`) seen through secret vectors. */
interface ColumnProjection {
  /** The three trial vectors r (n each): random signs, magnitudes in [1/2, 1). */
  r: Float32Array;
  /** B·r for each trial (k each), rounded to f32. */
  y: Float32Array;
  /** |B|·1 (k): the row sums of |B|, an upper bound of |B|·|r| for every trial. */
  w: Float32Array;
  checks: number;
}

/** The unit a check is for: its seed and shape. */
export interface SeededBlock {
  seed: string;
  m: number;
  n: number;
  k: number;
  rowOffset: number;
  colOffset: number;
}

/**
 * Freivalds' check of a seeded matmul-f32 unit on surge.wasm, for a validation thread:
 * A·(B·r) against C·r for three secret vectors r, with rounding bounds as in
 * `freivaldsCheckF32`, but shaped so a job costs its validator far less than its contributors:
 *
 * - B is generated once per column block of a job and kept only as its projections B·r and
 *   |B|·1 (4k floats): the units of that column share them. Since |r| ≤ 1, |A|·(|B|·1) bounds
 *   the rounding scale |A|·(|B|·|r|) of every trial, so one sum serves all three. Magnitudes in
 *   [1/2, 1) keep that bound within 2× of the exact one, and keep every element's error visible:
 *   a wrong element e moves the row's residual by at least |e|/2.
 * - A is generated once per row block and kept while it fits (`kBlockBudgetBytes`).
 * - The dots run in f32 SIMD lanes, carried in f64 every 64 elements; the tolerance adds what
 *   that rounding can cost (`kDotRelativeError`).
 *
 * The vectors never leave this thread, and a column block's are drawn again after
 * `kChecksPerDraw` checks, so verdicts cannot be used to learn them.
 */
export class WasmFreivaldsF32 {
  readonly #wasm: SurgeWasmExports;
  readonly #base: number;
  readonly #columns = new Map<string, ColumnProjection>();
  readonly #aBlocks = new Map<string, number>();
  /** Bytes from `#base` used by one check's working buffers; A blocks follow them. */
  #workBytes = 0;
  #blocksEnd = 0;

  readonly #blockBudgetBytes: number;

  /** `blockBudgetBytes`: how much generated A a thread keeps (tests make it small). */
  constructor({ wasm = instantiateSurgeWasmInNode(), blockBudgetBytes = kBlockBudgetBytes }: { wasm?: SurgeWasmExports; blockBudgetBytes?: number } = {}) {
    this.#wasm = wasm;
    this.#blockBudgetBytes = blockBudgetBytes;
    // The one allocation: everything past it is laid out here (the check's kernels never allocate).
    this.#base = wasm.alloc(16);
  }

  /** Checks `output`, the unit's claimed C (m × n f32, little-endian), against its seeded inputs. */
  check(block: SeededBlock, output: Uint8Array, random: () => number): FreivaldsOutcome {
    const { m, n, k } = block;
    const column = this.#column(block, random);
    // Working buffers: C, three signed vectors and one weight vector of max(n, k), and the dots' output.
    const cBytes = align16(4 * m * n);
    const vectorBytes = align16(4 * Math.max(n, k));
    const vectorsEnd = cBytes + kWasmFreivaldsTrials * vectorBytes;
    const work = { c: 0, signed: cBytes, weights: vectorsEnd, out: vectorsEnd + vectorBytes };
    this.#reserveWork(work.out + 32 * m);
    const a = this.#aBlock(block);
    const at = (offset: number) => this.#base + offset;

    // A·ŷ for each trial, and |A|·ŵ.
    this.#f32(at(work.signed), kWasmFreivaldsTrials * k).set(column.y);
    this.#f32(at(work.weights), k).set(column.w);
    this.#wasm.freivaldsDots(a, m, k, at(work.signed), at(work.weights), at(work.out));
    const expected = this.#f64(at(work.out), 4 * m).slice();

    // C·r for each trial, and |C|·1.
    new Uint8Array(this.#wasm.memory.buffer, at(work.c), 4 * m * n).set(output);
    this.#f32(at(work.signed), kWasmFreivaldsTrials * n).set(column.r);
    this.#f32(at(work.weights), n).fill(1);
    this.#wasm.freivaldsDots(at(work.c), m, n, at(work.signed), at(work.weights), at(work.out));
    const claimed = this.#f64(at(work.out), 4 * m);

    const kappa = freivaldsKappa(k) + 3 * kDotRelativeError;
    let worstRatio = 0;
    for (let i = 0; i < m; i++) {
      const scale = expected[4 * i + 3]! * (1 + 3 * kDotRelativeError);
      const cAbs = claimed[4 * i + 3]!;
      const tolerance = kappa * scale + 2 * kDotRelativeError * cAbs + 1e-30;
      for (let trial = 0; trial < kWasmFreivaldsTrials; trial++) {
        const ratio = Math.abs(claimed[4 * i + trial]! - expected[4 * i + trial]!) / tolerance;
        if (ratio > worstRatio) worstRatio = ratio;
        // A NaN or infinite element of C makes its row's sums NaN or infinite: the ratio fails too.
        if (!(ratio <= 1)) return { valid: false, worstRatio: Number.isNaN(ratio) ? Number.POSITIVE_INFINITY : worstRatio, failedRow: i };
      }
    }
    return { valid: true, worstRatio };
  }

  /** The column block's projections, made from a fresh draw when missing or used up. */
  #column(block: SeededBlock, random: () => number): ColumnProjection {
    const { seed, n, k, colOffset } = block;
    const key = `${seed}:${colOffset}:${n}:${k}`;
    const cached = this.#columns.get(key);
    if (cached && cached.checks < kChecksPerDraw) {
      cached.checks++;
      return cached;
    }
    const r = new Float32Array(kWasmFreivaldsTrials * n);
    for (let i = 0; i < r.length; i++) {
      const magnitude = 0.5 + 0.5 * random();
      r[i] = random() < 0.5 ? -magnitude : magnitude;
    }
    const y = new Float32Array(kWasmFreivaldsTrials * k);
    const w = new Float32Array(k);
    // Strips of B through the dots: the strip, the vectors r and ones, and the strip's output.
    const strip = 0;
    const signed = align16(4 * kStripRows * n);
    const ones = signed + align16(4 * kWasmFreivaldsTrials * n);
    const out = ones + align16(4 * n);
    this.#reserveWork(out + 32 * kStripRows);
    const at = (offset: number) => this.#base + offset;
    this.#f32(at(signed), kWasmFreivaldsTrials * n).set(r);
    this.#f32(at(ones), n).fill(1);
    const [key0, key1] = seedToKey(seed);
    for (let p0 = 0; p0 < k; p0 += kStripRows) {
      const rows = Math.min(kStripRows, k - p0);
      this.#wasm.philoxFill(at(strip), key0, key1, matmulStreams.b, p0, colOffset, rows, n, 1);
      this.#wasm.freivaldsDots(at(strip), rows, n, at(signed), at(ones), at(out));
      const dots = this.#f64(at(out), 4 * rows);
      for (let row = 0; row < rows; row++) {
        for (let trial = 0; trial < kWasmFreivaldsTrials; trial++) y[trial * k + p0 + row] = dots[4 * row + trial]!;
        w[p0 + row] = dots[4 * row + 3]!;
      }
    }
    const projection = { r, y, w, checks: 1 };
    this.#columns.delete(key);
    this.#columns.set(key, projection);
    // Projections are small (16k bytes); a thread keeps the last 4,096 column blocks it saw.
    if (this.#columns.size > 4096) this.#columns.delete(this.#columns.keys().next().value!);
    return projection;
  }

  /** The address of the unit's block of A, generated now unless kept from an earlier check. */
  #aBlock(block: SeededBlock): number {
    const { seed, m, k, rowOffset } = block;
    const key = `${seed}:${rowOffset}:${m}:${k}`;
    const kept = this.#aBlocks.get(key);
    if (kept !== undefined) return kept;
    const bytes = 4 * m * k;
    if (this.#blocksEnd + bytes > this.#workBytes + this.#blockBudgetBytes) this.#dropBlocks();
    const address = this.#base + this.#blocksEnd;
    this.#grow(this.#blocksEnd + bytes);
    const [key0, key1] = seedToKey(seed);
    this.#wasm.philoxFill(address, key0, key1, matmulStreams.a, rowOffset, 0, m, k, 1);
    this.#aBlocks.set(key, address);
    this.#blocksEnd += bytes;
    return address;
  }

  /** Makes the working area at least `bytes`; A blocks after it are dropped when it must grow. */
  #reserveWork(bytes: number): void {
    const rounded = Math.ceil(bytes / 65536) * 65536;
    if (rounded <= this.#workBytes) return;
    this.#workBytes = rounded;
    this.#dropBlocks();
    this.#grow(this.#workBytes);
  }

  #dropBlocks(): void {
    this.#aBlocks.clear();
    this.#blocksEnd = this.#workBytes;
  }

  /** Grows the instance's memory so `bytes` past `#base` exist. */
  #grow(bytes: number): void {
    const memory = this.#wasm.memory;
    const needed = this.#base + bytes - memory.buffer.byteLength;
    if (needed > 0) memory.grow(Math.ceil(needed / 65536));
  }

  #f32(address: number, length: number): Float32Array {
    return new Float32Array(this.#wasm.memory.buffer, address, length);
  }

  #f64(address: number, length: number): Float64Array {
    return new Float64Array(this.#wasm.memory.buffer, address, length);
  }
}

function align16(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}
