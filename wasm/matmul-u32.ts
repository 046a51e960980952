// matmul-u32: the wrapping (mod 2³²) integer product. Integer arithmetic is exact, so every
// backend and device gives the same bytes; the coordinator checks it with exact Freivalds.
import { matmulRows } from './matmul-blocked';

export function matmulU32Rows(a: usize, packed: usize, scratch: usize, c: usize, n: i32, k: i32, rowStart: i32, rowEnd: i32): void {
  matmulRows<u32>(a, packed, scratch, c, n, k, rowStart, rowEnd);
}
