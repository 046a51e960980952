// matmul-f32: the f32 product. Built twice: with plain SIMD (mul then add, the same bytes on
// every machine) and with relaxed SIMD (fused multiply-add where the CPU has it), which is
// allowed only because the coordinator validates f32 products with a tolerance.
import { matmulRows } from './matmul-blocked';

export { matmulPackedBytes, matmulScratchBytes, packPanels } from './matmul-blocked';

export function matmulF32Rows(a: usize, packed: usize, scratch: usize, c: usize, n: i32, k: i32, rowStart: i32, rowEnd: i32): void {
  matmulRows<f32>(a, packed, scratch, c, n, k, rowStart, rowEnd);
}
