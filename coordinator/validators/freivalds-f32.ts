import { f32DotErrorFactor } from '../../src/kernels/matmul-f32.ts';

/**
 * Freivalds' check (R. Freivalds, 1977) for a claimed f32 product C = A·B: for a random
 * vector r, A·(B·r) must equal C·r. That costs O(mk + kn + mn) per trial instead of the
 * O(mnk) of recomputing. With floats, "equal" means within a rounding bound: per row i,
 *
 *   |(C·r)_i − (A·(B·r))_i| ≤ κ · (|A|·(|B|·|r|))_i,
 *
 * where κ = λ·√k·u is the probabilistic rounding bound of Higham and Mary ("A new approach
 * to probabilistic rounding error analysis", SISC 2019) with λ = 8, which an honest f32
 * product exceeds with probability below k·e^(−32). The worst-case bound γ_k (k·u) is
 * about √k times looser and would let through much larger tampering, so it is used only
 * when it is the smaller one (tiny k). r is drawn from the coordinator's own randomness, so
 * a client cannot shape its errors to it.
 */
export interface FreivaldsOutcome {
  valid: boolean;
  /** The largest ratio of residual to tolerance over all rows and trials (≤ 1 passes). */
  worstRatio: number;
  /** The first row that failed, when one did. */
  failedRow?: number;
}

/** κ, the rounding bound's factor for a k-term f32 dot: λ√k·u with λ = 8, or γ_k where that is smaller (tiny k). */
export function freivaldsKappa(k: number): number {
  return Math.min(8 * Math.sqrt(k) * 2 ** -24, f32DotErrorFactor(k + 1));
}

export function freivaldsCheckF32(
  a: Float32Array,
  b: Float32Array,
  c: Float32Array,
  shape: { m: number; n: number; k: number },
  trials: number,
  random: () => number,
): FreivaldsOutcome {
  const { m, n, k } = shape;
  const kappa = freivaldsKappa(k);
  const r = new Float64Array(n);
  const br = new Float64Array(k);
  const absBr = new Float64Array(k);
  let worstRatio = 0;

  for (let i = 0; i < c.length; i++) {
    if (!Number.isFinite(c[i])) return { valid: false, worstRatio: Number.POSITIVE_INFINITY, failedRow: Math.floor(i / n) };
  }

  for (let trial = 0; trial < trials; trial++) {
    for (let j = 0; j < n; j++) r[j] = random() * 2 - 1;
    for (let p = 0; p < k; p++) {
      let sum = 0;
      let absSum = 0;
      const row = p * n;
      for (let j = 0; j < n; j++) {
        const bv = b[row + j]!;
        sum += bv * r[j]!;
        absSum += Math.abs(bv * r[j]!);
      }
      br[p] = sum;
      absBr[p] = absSum;
    }
    for (let i = 0; i < m; i++) {
      let expected = 0;
      let scale = 0;
      const rowA = i * k;
      for (let p = 0; p < k; p++) {
        const av = a[rowA + p]!;
        expected += av * br[p]!;
        scale += Math.abs(av) * absBr[p]!;
      }
      let claimed = 0;
      const rowC = i * n;
      for (let j = 0; j < n; j++) claimed += c[rowC + j]! * r[j]!;
      // The f64 arithmetic of the check itself adds error far below the f32 bound; the
      // absolute term keeps an all-zero row (scale 0) from dividing by zero.
      const tolerance = kappa * scale + 1e-30;
      const ratio = Math.abs(claimed - expected) / tolerance;
      if (ratio > worstRatio) worstRatio = ratio;
      if (!(ratio <= 1)) return { valid: false, worstRatio, failedRow: i };
    }
  }
  return { valid: true, worstRatio };
}
