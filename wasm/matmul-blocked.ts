// The blocked matrix product shared by matmul-f32 and matmul-u32: C[rows] = A[rows]·B,
// row-major, with B packed once into panels of 8 columns so the micro-kernel reads it
// contiguously. T is f32 (IEEE arithmetic; fused where relaxed SIMD is on) or u32 (wrapping).
//
// The loops follow the BLIS layering (Van Zee and van de Geijn, "BLIS: A Framework for
// Rapidly Instantiating BLAS Functionality", TOMS 2015): the inner dimension is cut into
// chunks of kKc so one chunk of a panel (kKc × 8 values, 8 KiB) stays in L1 while every
// row block of the slice streams past it, and a 6 × 8 micro-kernel keeps 12 accumulators
// in registers: enough independent multiply-add chains to cover the latency of the
// floating-point pipeline (4 cycles, 2 per cycle), within the 15 vector registers V8 allocates
// on x86-64. Shapes that need more (4 × 12, k unrolled by 2) spill and lose a third
// (docs/decisions/0011-matmul-micro-kernel.md).

const kKc: i32 = 256;
const kMc: i32 = 96;
const kRows: i32 = 6;
/** Bytes of one packed block of A (kMc × kKc), at the start of the scratch; the edge tile follows it. */
const kPackedABytes: i32 = kMc * kKc * 4;

/** Bytes of scratch the host allocates for `matmulRows`: one packed block of A and one 6 × 8 edge tile of C. */
export function matmulScratchBytes(): i32 {
  return kPackedABytes + kRows * 8 * 4;
}

/** Bytes the host allocates for `packPanels`: k rows of every panel, the last one padded to 8 columns. */
export function matmulPackedBytes(n: i32, k: i32): i32 {
  return k * ((n + 7) & ~7) * 4;
}

// Packs rows [i0, i0 + rows) × columns [p0, p0 + kc) of A so that each micro-kernel step reads
// its six values of A from one place: packed[(block·kc + p)·6 + r]. A last block of fewer than 6
// rows is padded with zeros; the edge tile never stores the rows they give.
@inline
function packA(a: usize, packed: usize, k: i32, i0: i32, rows: i32, p0: i32, kc: i32): void {
  let dst = packed;
  const rowBytes = <usize>k << 2;
  for (let block = 0; block < rows; block += kRows) {
    const src = a + ((<usize>(i0 + block) * <usize>k + <usize>p0) << 2);
    const valid = min(kRows, rows - block);
    if (valid == kRows) {
      for (let p = 0; p < kc; p++) {
        const column = src + (<usize>p << 2);
        store<u32>(dst, load<u32>(column));
        store<u32>(dst, load<u32>(column + rowBytes), 4);
        store<u32>(dst, load<u32>(column + 2 * rowBytes), 8);
        store<u32>(dst, load<u32>(column + 3 * rowBytes), 12);
        store<u32>(dst, load<u32>(column + 4 * rowBytes), 16);
        store<u32>(dst, load<u32>(column + 5 * rowBytes), 20);
        dst += 24;
      }
    } else {
      for (let p = 0; p < kc; p++) {
        const column = src + (<usize>p << 2);
        for (let r = 0; r < kRows; r++) store<u32>(dst + (<usize>r << 2), r < valid ? load<u32>(column + <usize>r * rowBytes) : 0);
        dst += 24;
      }
    }
  }
}

// Panels of B: for each group of 8 columns, k rows of 8 contiguous values (32 bytes). The last
// panel of an n that is not a multiple of 8 is padded with zeros.
export function packPanels(b: usize, packed: usize, n: i32, k: i32): void {
  const panels = n >> 3;
  const stride = <usize>n << 2;
  for (let panel = 0; panel < panels; panel++) {
    let dst = packed + <usize>panel * <usize>k * 32;
    let src = b + (<usize>(panel << 3) << 2);
    for (let p = 0; p < k; p++) {
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
      dst += 32;
      src += stride;
    }
  }
  const tail = n & 7;
  if (tail == 0) return;
  let dst = packed + <usize>panels * <usize>k * 32;
  let src = b + (<usize>(panels << 3) << 2);
  for (let p = 0; p < k; p++) {
    for (let col = 0; col < 8; col++) store<u32>(dst + (<usize>col << 2), col < tail ? load<u32>(src + (<usize>col << 2)) : 0);
    dst += 32;
    src += stride;
  }
}

@inline
function madd<T>(acc: v128, a: v128, b: v128): v128 {
  if (isFloat<T>()) {
    if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
    return f32x4.add(acc, f32x4.mul(a, b));
  }
  return i32x4.add(acc, i32x4.mul(a, b));
}

@inline
function add<T>(a: v128, b: v128): v128 {
  if (isFloat<T>()) return f32x4.add(a, b);
  return i32x4.add(a, b);
}

// A micro-kernel of 6 rows × 8 columns over one chunk of the inner dimension: per step it
// loads two vectors of the packed panel, splats six values of A, and issues twelve
// multiply-adds. `accumulate` adds to C (every chunk after the first) instead of storing.
@inline
function block6x8<T>(packedA: usize, panel: usize, c: usize, n: i32, i: i32, j: i32, p0: i32, kc: i32, accumulate: bool): void {
  let c00 = v128.splat<i32>(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  let c40 = c00;
  let c41 = c00;
  let c50 = c00;
  let c51 = c00;
  let pa = packedA;
  let pb = panel + <usize>p0 * 32;
  const end = pb + <usize>kc * 32;
  // Integers: two steps of k per trip (half the loop overhead, more room for the scheduler)
  // measured 30% faster; with f32 fused multiply-adds it measured slower, so f32 takes one.
  const pairsEnd = isFloat<T>() ? pb : pb + <usize>(kc & ~1) * 32;
  while (pb < pairsEnd) {
    {
      const b0 = v128.load(pb, 0);
      const b1 = v128.load(pb, 16);
      let s = v128.load32_splat(pa, 0);
      c00 = madd<T>(c00, s, b0);
      c01 = madd<T>(c01, s, b1);
      s = v128.load32_splat(pa, 4);
      c10 = madd<T>(c10, s, b0);
      c11 = madd<T>(c11, s, b1);
      s = v128.load32_splat(pa, 8);
      c20 = madd<T>(c20, s, b0);
      c21 = madd<T>(c21, s, b1);
      s = v128.load32_splat(pa, 12);
      c30 = madd<T>(c30, s, b0);
      c31 = madd<T>(c31, s, b1);
      s = v128.load32_splat(pa, 16);
      c40 = madd<T>(c40, s, b0);
      c41 = madd<T>(c41, s, b1);
      s = v128.load32_splat(pa, 20);
      c50 = madd<T>(c50, s, b0);
      c51 = madd<T>(c51, s, b1);
    }
    {
      const b0 = v128.load(pb, 32);
      const b1 = v128.load(pb, 48);
      let s = v128.load32_splat(pa, 24);
      c00 = madd<T>(c00, s, b0);
      c01 = madd<T>(c01, s, b1);
      s = v128.load32_splat(pa, 28);
      c10 = madd<T>(c10, s, b0);
      c11 = madd<T>(c11, s, b1);
      s = v128.load32_splat(pa, 32);
      c20 = madd<T>(c20, s, b0);
      c21 = madd<T>(c21, s, b1);
      s = v128.load32_splat(pa, 36);
      c30 = madd<T>(c30, s, b0);
      c31 = madd<T>(c31, s, b1);
      s = v128.load32_splat(pa, 40);
      c40 = madd<T>(c40, s, b0);
      c41 = madd<T>(c41, s, b1);
      s = v128.load32_splat(pa, 44);
      c50 = madd<T>(c50, s, b0);
      c51 = madd<T>(c51, s, b1);
    }
    pa += 48;
    pb += 64;
  }
  while (pb < end) {
    {
      const b0 = v128.load(pb, 0);
      const b1 = v128.load(pb, 16);
      let s = v128.load32_splat(pa, 0);
      c00 = madd<T>(c00, s, b0);
      c01 = madd<T>(c01, s, b1);
      s = v128.load32_splat(pa, 4);
      c10 = madd<T>(c10, s, b0);
      c11 = madd<T>(c11, s, b1);
      s = v128.load32_splat(pa, 8);
      c20 = madd<T>(c20, s, b0);
      c21 = madd<T>(c21, s, b1);
      s = v128.load32_splat(pa, 12);
      c30 = madd<T>(c30, s, b0);
      c31 = madd<T>(c31, s, b1);
      s = v128.load32_splat(pa, 16);
      c40 = madd<T>(c40, s, b0);
      c41 = madd<T>(c41, s, b1);
      s = v128.load32_splat(pa, 20);
      c50 = madd<T>(c50, s, b0);
      c51 = madd<T>(c51, s, b1);
    }
    pa += 24;
    pb += 32;
  }
  const strideC = <usize>n << 2;
  let pc = c + ((<usize>i * <usize>n + <usize>j) << 2);
  if (accumulate) {
    c00 = add<T>(c00, v128.load(pc));
    c01 = add<T>(c01, v128.load(pc, 16));
    c10 = add<T>(c10, v128.load(pc + strideC));
    c11 = add<T>(c11, v128.load(pc + strideC, 16));
    c20 = add<T>(c20, v128.load(pc + 2 * strideC));
    c21 = add<T>(c21, v128.load(pc + 2 * strideC, 16));
    c30 = add<T>(c30, v128.load(pc + 3 * strideC));
    c31 = add<T>(c31, v128.load(pc + 3 * strideC, 16));
    c40 = add<T>(c40, v128.load(pc + 4 * strideC));
    c41 = add<T>(c41, v128.load(pc + 4 * strideC, 16));
    c50 = add<T>(c50, v128.load(pc + 5 * strideC));
    c51 = add<T>(c51, v128.load(pc + 5 * strideC, 16));
  }
  v128.store(pc, c00);
  v128.store(pc, c01, 16);
  pc += strideC;
  v128.store(pc, c10);
  v128.store(pc, c11, 16);
  pc += strideC;
  v128.store(pc, c20);
  v128.store(pc, c21, 16);
  pc += strideC;
  v128.store(pc, c30);
  v128.store(pc, c31, 16);
  pc += strideC;
  v128.store(pc, c40);
  v128.store(pc, c41, 16);
  pc += strideC;
  v128.store(pc, c50);
  v128.store(pc, c51, 16);
}

/**
 * A block of C at the edge, `rows` < 6 or `cols` < 8: the micro-kernel runs on a 6 × 8 tile in
 * scratch (A and B are zero-padded there), and only the block's own elements are copied in and
 * out. The same operations in the same order as a full block, so the same bytes (BLIS handles its
 * edges the same way).
 */
function edgeBlock<T>(packedA: usize, panel: usize, tile: usize, c: usize, n: i32, i: i32, j: i32, rows: i32, cols: i32, p0: i32, kc: i32, accumulate: bool): void {
  const strideC = <usize>n << 2;
  let pc = c + ((<usize>i * <usize>n + <usize>j) << 2);
  if (accumulate) {
    for (let r = 0; r < rows; r++) {
      for (let col = 0; col < cols; col++) store<T>(tile + (<usize>(r * 8 + col) << 2), load<T>(pc + (<usize>col << 2)));
      pc += strideC;
    }
  }
  block6x8<T>(packedA, panel, tile, 8, 0, 0, p0, kc, accumulate);
  pc = c + ((<usize>i * <usize>n + <usize>j) << 2);
  for (let r = 0; r < rows; r++) {
    for (let col = 0; col < cols; col++) store<T>(pc + (<usize>col << 2), load<T>(tile + (<usize>(r * 8 + col) << 2)));
    pc += strideC;
  }
}

/**
 * Rows [rowStart, rowEnd) of C (m×n) = A (m×k) · B (k×n), with B packed by `packPanels` into
 * `packed` (`matmulPackedBytes(n, k)`) and `scratch` of `matmulScratchBytes()`. Loops, outermost first: chunks of kKc along k, blocks of
 * kMc rows (A's block packed into scratch, held in L2), panels (a panel chunk, 8 KiB, held in
 * L1), then 6-row micro-blocks; blocks at the bottom and right edges go through `edgeBlock`.
 */
export function matmulRows<T>(a: usize, packed: usize, scratch: usize, c: usize, n: i32, k: i32, rowStart: i32, rowEnd: i32): void {
  const panels = (n + 7) >> 3;
  const tile = scratch + <usize>kPackedABytes;
  for (let p0 = 0; p0 < k; p0 += kKc) {
    const kc = min(kKc, k - p0);
    const accumulate = p0 > 0;
    for (let i0 = rowStart; i0 < rowEnd; i0 += kMc) {
      const rows = min(kMc, rowEnd - i0);
      packA(a, scratch, k, i0, rows, p0, kc);
      for (let panel = 0; panel < panels; panel++) {
        const panelPtr = packed + <usize>panel * <usize>k * 32;
        const j = panel << 3;
        const cols = min(8, n - j);
        for (let block = 0; block < rows; block += kRows) {
          const packedBlock = scratch + <usize>block * <usize>kc * 4;
          const blockRows = min(kRows, rows - block);
          if (blockRows == kRows && cols == 8) block6x8<T>(packedBlock, panelPtr, c, n, i0 + block, j, p0, kc, accumulate);
          else edgeBlock<T>(packedBlock, panelPtr, tile, c, n, i0 + block, j, blockRows, cols, p0, kc, accumulate);
        }
      }
    }
  }
}
