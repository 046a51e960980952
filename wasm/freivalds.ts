// The dot products of the coordinator's Freivalds check for matmul-f32 (coordinator/validators/
// freivalds-wasm.ts): each row of a matrix against three signed vectors, and its absolute values
// against one vector of non-negative weights, in one pass over the row. The products are summed in
// f32 SIMD lanes whose partial sums go to f64 every kChunk elements, so each lane adds at most
// kChunk / 4 products in f32: the caller bounds the rounding that adds (kDotRelativeError there).

const kChunk: i32 = 64;

/**
 * For each of `rows` rows of `len` f32 at `matrix` (row-major): out[row·4 + v] = Σ row·signed[v]
 * for v < 3, and out[row·4 + 3] = Σ |row|·weights, in f64. `signed` holds three vectors of `len`
 * f32, one after another; `weights` one.
 */
export function freivaldsDots(matrix: usize, rows: i32, len: i32, signed: usize, weights: usize, out: usize): void {
  const rowBytes = <usize>len << 2;
  const s0 = signed;
  const s1 = signed + rowBytes;
  const s2 = signed + 2 * rowBytes;
  const simdLen = len & ~3;
  for (let row = 0; row < rows; row++) {
    const rowPtr = matrix + <usize>row * rowBytes;
    let dot0: f64 = 0;
    let dot1: f64 = 0;
    let dot2: f64 = 0;
    let absDot: f64 = 0;
    for (let start = 0; start < simdLen; start += kChunk) {
      const end = min(start + kChunk, simdLen);
      let sum0 = f32x4.splat(0);
      let sum1 = f32x4.splat(0);
      let sum2 = f32x4.splat(0);
      let absSum = f32x4.splat(0);
      for (let p = start; p < end; p += 4) {
        const at = <usize>p << 2;
        const x = v128.load(rowPtr + at);
        sum0 = f32x4.add(sum0, f32x4.mul(x, v128.load(s0 + at)));
        sum1 = f32x4.add(sum1, f32x4.mul(x, v128.load(s1 + at)));
        sum2 = f32x4.add(sum2, f32x4.mul(x, v128.load(s2 + at)));
        absSum = f32x4.add(absSum, f32x4.mul(f32x4.abs(x), v128.load(weights + at)));
      }
      dot0 += lanesSum(sum0);
      dot1 += lanesSum(sum1);
      dot2 += lanesSum(sum2);
      absDot += lanesSum(absSum);
    }
    for (let p = simdLen; p < len; p++) {
      const at = <usize>p << 2;
      const x = <f64>load<f32>(rowPtr + at);
      dot0 += x * <f64>load<f32>(s0 + at);
      dot1 += x * <f64>load<f32>(s1 + at);
      dot2 += x * <f64>load<f32>(s2 + at);
      absDot += Math.abs(x) * <f64>load<f32>(weights + at);
    }
    const o = out + (<usize>row << 5);
    store<f64>(o, dot0);
    store<f64>(o, dot1, 8);
    store<f64>(o, dot2, 16);
    store<f64>(o, absDot, 24);
  }
}

/** The four lanes of an f32x4, added in f64. */
@inline
function lanesSum(x: v128): f64 {
  return <f64>f32x4.extract_lane(x, 0) + <f64>f32x4.extract_lane(x, 1) + <f64>f32x4.extract_lane(x, 2) + <f64>f32x4.extract_lane(x, 3);
}
