// Philox-4x32-10 (Salmon et al., SC'11), the same generator as src/kernels/philox.ts and
// wasm/philox.ts. WGSL has no 64-bit integers, so the high half of each 32×32 product is
// built from 16-bit halves.

fn philox_mulhi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let lo_lo = a_lo * b_lo;
  let hi_lo = a_hi * b_lo;
  let lo_hi = a_lo * b_hi;
  let hi_hi = a_hi * b_hi;
  let cross = (lo_lo >> 16u) + (hi_lo & 0xffffu) + (lo_hi & 0xffffu);
  return hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (cross >> 16u);
}

fn philox4x32(key: vec2u, counter: vec4u) -> vec4u {
  var c = counter;
  var k = key;
  for (var round = 0u; round < 10u; round++) {
    let hi0 = philox_mulhi(0xd2511f53u, c.x);
    let lo0 = 0xd2511f53u * c.x;
    let hi1 = philox_mulhi(0xcd9e8d57u, c.z);
    let lo1 = 0xcd9e8d57u * c.z;
    c = vec4u(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
    k = k + vec2u(0x9e3779b9u, 0xbb67ae85u);
  }
  return c;
}

/** Maps a u32 to an f32 in [-1, 1) with 24 random bits, exactly as u32ToUnitF32. */
fn philox_unit_f32(x: u32) -> f32 {
  return f32(x >> 8u) * 1.1920928955078125e-7 - 1.0;
}
