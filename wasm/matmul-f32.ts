// matmul-f32 in AssemblyScript with 128-bit SIMD: C[rows] = A[rows]·B, row-major f32.
// Built with the stub runtime (a bump allocator; no GC), so the host allocates the three
// matrices once per unit with `alloc` and instantiates a fresh instance for the next unit.

/** Reserves `bytes` of linear memory, 16-byte aligned, and returns its address. */
export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

// A micro-kernel of 4 rows × 8 columns keeps 8 accumulators in v128 registers: per step of
// the inner dimension it loads two vectors of B, splats four scalars of A, and issues eight
// multiply-adds, so each loaded value is used 4 times (B) or 8 times (A).
@inline
function block4x8(a: usize, b: usize, c: usize, n: i32, k: i32, i: i32, j: i32): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  const rowBytes = <usize>k << 2;
  let pa = a + ((<usize>i * <usize>k) << 2);
  let pb = b + (<usize>j << 2);
  const strideB = <usize>n << 2;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = f32x4.splat(load<f32>(pa));
    const a1 = f32x4.splat(load<f32>(pa + rowBytes));
    const a2 = f32x4.splat(load<f32>(pa + 2 * rowBytes));
    const a3 = f32x4.splat(load<f32>(pa + 3 * rowBytes));
    c00 = f32x4.add(c00, f32x4.mul(a0, b0));
    c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0));
    c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c20 = f32x4.add(c20, f32x4.mul(a2, b0));
    c21 = f32x4.add(c21, f32x4.mul(a2, b1));
    c30 = f32x4.add(c30, f32x4.mul(a3, b0));
    c31 = f32x4.add(c31, f32x4.mul(a3, b1));
    pa += 4;
    pb += strideB;
  }
  const pc = c + ((<usize>i * <usize>n + <usize>j) << 2);
  const strideC = <usize>n << 2;
  v128.store(pc, c00);
  v128.store(pc, c01, 16);
  v128.store(pc + strideC, c10);
  v128.store(pc + strideC, c11, 16);
  v128.store(pc + 2 * strideC, c20);
  v128.store(pc + 2 * strideC, c21, 16);
  v128.store(pc + 3 * strideC, c30);
  v128.store(pc + 3 * strideC, c31, 16);
}

/** One element of C, for the edges that do not fill a 4×8 block. */
@inline
function element(a: usize, b: usize, c: usize, n: i32, k: i32, i: i32, j: i32): void {
  let sum: f32 = 0;
  let pa = a + ((<usize>i * <usize>k) << 2);
  let pb = b + (<usize>j << 2);
  const strideB = <usize>n << 2;
  for (let p = 0; p < k; p++) {
    sum += load<f32>(pa) * load<f32>(pb);
    pa += 4;
    pb += strideB;
  }
  store<f32>(c + ((<usize>i * <usize>n + <usize>j) << 2), sum);
}

/**
 * Computes rows [rowStart, rowEnd) of C (m×n) = A (m×k) · B (k×n). The host calls it in
 * slices of rows so that one call stays within its time budget.
 */
export function matmulRows(a: usize, b: usize, c: usize, n: i32, k: i32, rowStart: i32, rowEnd: i32): void {
  const fullCols = n & ~7;
  let i = rowStart;
  for (; i + 4 <= rowEnd; i += 4) {
    for (let j = 0; j < fullCols; j += 8) block4x8(a, b, c, n, k, i, j);
    for (let r = i; r < i + 4; r++) {
      for (let j = fullCols; j < n; j++) element(a, b, c, n, k, r, j);
    }
  }
  for (; i < rowEnd; i++) {
    for (let j = 0; j < n; j++) element(a, b, c, n, k, i, j);
  }
}
