// The ceiling for matmul-f32 on WASM: twelve independent chains of f32x4.relaxed_madd with no
// memory traffic, the most multiply-adds one core retires from WASM. Twelve chains cover the
// latency of two fused multiply-add pipes (4 cycles each) with the 15 vector registers V8
// allocates on x86-64. Built on its own for the benchmark page, not into surge.wasm.

/** Runs `iterations` × 12 relaxed multiply-adds of f32x4 (96 flops each); returns a sum so nothing is dead. */
export function fmaPeak(iterations: i32, x: f32, y: f32): f32 {
  const a = f32x4.splat(x);
  const b = f32x4.splat(y);
  let c0 = f32x4.splat(x * 0.1);
  let c1 = f32x4.splat(x * 0.2);
  let c2 = f32x4.splat(x * 0.3);
  let c3 = f32x4.splat(x * 0.4);
  let c4 = f32x4.splat(x * 0.5);
  let c5 = f32x4.splat(x * 0.6);
  let c6 = f32x4.splat(x * 0.7);
  let c7 = f32x4.splat(x * 0.8);
  let c8 = f32x4.splat(x * 0.9);
  let c9 = f32x4.splat(x * 1.1);
  let c10 = f32x4.splat(x * 1.2);
  let c11 = f32x4.splat(x * 1.3);
  for (let i = 0; i < iterations; i++) {
    c0 = f32x4.relaxed_madd(a, b, c0);
    c1 = f32x4.relaxed_madd(a, b, c1);
    c2 = f32x4.relaxed_madd(a, b, c2);
    c3 = f32x4.relaxed_madd(a, b, c3);
    c4 = f32x4.relaxed_madd(a, b, c4);
    c5 = f32x4.relaxed_madd(a, b, c5);
    c6 = f32x4.relaxed_madd(a, b, c6);
    c7 = f32x4.relaxed_madd(a, b, c7);
    c8 = f32x4.relaxed_madd(a, b, c8);
    c9 = f32x4.relaxed_madd(a, b, c9);
    c10 = f32x4.relaxed_madd(a, b, c10);
    c11 = f32x4.relaxed_madd(a, b, c11);
  }
  const sum = f32x4.add(
    f32x4.add(f32x4.add(f32x4.add(c0, c1), f32x4.add(c2, c3)), f32x4.add(f32x4.add(c4, c5), f32x4.add(c6, c7))),
    f32x4.add(f32x4.add(c8, c9), f32x4.add(c10, c11)),
  );
  return f32x4.extract_lane(sum, 0) + f32x4.extract_lane(sum, 3);
}
