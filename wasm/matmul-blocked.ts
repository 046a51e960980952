// The blocked matrix product shared by matmul-f32 and matmul-u32: C[rows] = A[rows]·B,
// row-major, with B packed once into panels of 8 columns so that the micro-kernel reads it
// contiguously. T is f32 (IEEE arithmetic; fused where relaxed SIMD is on) or u32 (wrapping).

// Panels of B: for each group of 8 columns, k rows of 8 contiguous values (32 bytes).
export function packPanels(b: usize, packed: usize, n: i32, k: i32): void {
  const panels = n >> 3;
  for (let panel = 0; panel < panels; panel++) {
    let dst = packed + <usize>panel * <usize>k * 32;
    let src = b + (<usize>(panel << 3) << 2);
    const stride = <usize>n << 2;
    for (let p = 0; p < k; p++) {
      v128.store(dst, v128.load(src));
      v128.store(dst, v128.load(src, 16), 16);
      dst += 32;
      src += stride;
    }
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
function splat<T>(ptr: usize): v128 {
  if (isFloat<T>()) return f32x4.splat(load<f32>(ptr));
  return i32x4.splat(load<i32>(ptr));
}

// A micro-kernel of 4 rows × 8 columns keeps 8 accumulators in v128 registers: per step of
// the inner dimension it loads two vectors of a packed panel, splats four values of A, and
// issues eight multiply-adds.
@inline
function block4x8<T>(a: usize, panel: usize, c: usize, n: i32, k: i32, i: i32, j: i32): void {
  let c00 = v128.splat<i32>(0);
  let c01 = c00;
  let c10 = c00;
  let c11 = c00;
  let c20 = c00;
  let c21 = c00;
  let c30 = c00;
  let c31 = c00;
  const rowBytes = <usize>k << 2;
  let pa = a + ((<usize>i * <usize>k) << 2);
  let pb = panel;
  const end = pb + <usize>k * 32;
  while (pb < end) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = splat<T>(pa);
    const a1 = splat<T>(pa + rowBytes);
    const a2 = splat<T>(pa + 2 * rowBytes);
    const a3 = splat<T>(pa + 3 * rowBytes);
    c00 = madd<T>(c00, a0, b0);
    c01 = madd<T>(c01, a0, b1);
    c10 = madd<T>(c10, a1, b0);
    c11 = madd<T>(c11, a1, b1);
    c20 = madd<T>(c20, a2, b0);
    c21 = madd<T>(c21, a2, b1);
    c30 = madd<T>(c30, a3, b0);
    c31 = madd<T>(c31, a3, b1);
    pa += 4;
    pb += 32;
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

/** One row of a packed panel against one row of A, for rows that do not fill a block of 4. */
@inline
function row1x8<T>(a: usize, panel: usize, c: usize, n: i32, k: i32, i: i32, j: i32): void {
  let c0 = v128.splat<i32>(0);
  let c1 = c0;
  let pa = a + ((<usize>i * <usize>k) << 2);
  let pb = panel;
  const end = pb + <usize>k * 32;
  while (pb < end) {
    const a0 = splat<T>(pa);
    c0 = madd<T>(c0, a0, v128.load(pb));
    c1 = madd<T>(c1, a0, v128.load(pb, 16));
    pa += 4;
    pb += 32;
  }
  const pc = c + ((<usize>i * <usize>n + <usize>j) << 2);
  v128.store(pc, c0);
  v128.store(pc, c1, 16);
}

/** One element of C from unpacked B, for the last n % 8 columns. */
@inline
function element<T>(a: usize, b: usize, c: usize, n: i32, k: i32, i: i32, j: i32): void {
  let sum: T = <T>0;
  let pa = a + ((<usize>i * <usize>k) << 2);
  let pb = b + (<usize>j << 2);
  const strideB = <usize>n << 2;
  for (let p = 0; p < k; p++) {
    sum += load<T>(pa) * load<T>(pb);
    pa += 4;
    pb += strideB;
  }
  store<T>(c + ((<usize>i * <usize>n + <usize>j) << 2), sum);
}

/**
 * Rows [rowStart, rowEnd) of C (m×n) = A (m×k) · B (k×n), with B also packed by
 * `packPanels`. Panels are the outer loop so each stays in cache across the rows of a slice.
 */
export function matmulRows<T>(a: usize, b: usize, packed: usize, c: usize, n: i32, k: i32, rowStart: i32, rowEnd: i32): void {
  const panels = n >> 3;
  const fullRowsEnd = rowStart + ((rowEnd - rowStart) & ~3);
  for (let panel = 0; panel < panels; panel++) {
    const panelPtr = packed + <usize>panel * <usize>k * 32;
    const j = panel << 3;
    for (let i = rowStart; i < fullRowsEnd; i += 4) block4x8<T>(a, panelPtr, c, n, k, i, j);
    for (let i = fullRowsEnd; i < rowEnd; i++) row1x8<T>(a, panelPtr, c, n, k, i, j);
  }
  for (let i = rowStart; i < rowEnd; i++) {
    for (let j = panels << 3; j < n; j++) element<T>(a, b, c, n, k, i, j);
  }
}
