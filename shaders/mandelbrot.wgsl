// mandelbrot: escape counts in exact Q4.92 fixed point, following the definition in
// src/kernels/fixed-point.ts bit for bit (the BigInt reference is src/kernels/mandelbrot.ts).
//
// WGSL has no 64-bit integers (its scalar types are bool, i32, u32, f32 and f16), so a
// magnitude is six 16-bit limbs, each in a u32: a product of two limbs fits a u32 exactly,
// and a column of a product sums at most twelve 16-bit halves, far from overflow. Numbers are sign-magnitude
// as in the definition; products are of magnitudes and truncate toward zero.
//
// The host runs a band of pixels at a time. Each pixel's orbit (x, y, count) lives in
// `orbits`, so a dispatch runs at most `tile.chunk` iterations per pixel and the next one
// resumes: a submit stays near 100 ms even when maxIterations is a million. A finished
// pixel writes its count to `counts`; the counters tell the host how many pixels of the band
// are still running and how much work the dispatch did, to size the next chunk.

struct Tile {
  width: u32,
  band_start: u32,
  band_end: u32,
  max_iterations: u32,
  chunk: u32,
}

// x and y as the coordinates are (three u32 magnitude limbs, then 1 when negative), the
// count so far, and 1 once the count is final. All zeros is a fresh pixel.
struct Orbit {
  x: vec4u,
  y: vec4u,
  count: u32,
  done: u32,
}

struct Counters {
  running: atomic<u32>,
  units: atomic<u32>,
}

// cx of each column, then cy of each row.
@group(0) @binding(0) var<storage, read> coords: array<vec4u>;
// One per pixel of the band, indexed from band_start.
@group(0) @binding(1) var<storage, read_write> orbits: array<Orbit>;
// One per pixel of the tile, row-major.
@group(0) @binding(2) var<storage, read_write> counts: array<u32>;
@group(0) @binding(3) var<storage, read_write> counters: Counters;
@group(0) @binding(4) var<uniform> tile: Tile;

alias Limbs = array<u32, 6>;

struct Fixed {
  m: Limbs,
  negative: bool,
}

// The top limb (bits 80..95) of 2 = 2⁹³ and of 4 = 2⁹⁴ in raw units.
const TWO_TOP: u32 = 0x2000u;
const FOUR_TOP: u32 = 0x4000u;

fn unpack(v: vec4u) -> Fixed {
  return Fixed(Limbs(v.x & 0xffffu, v.x >> 16u, v.y & 0xffffu, v.y >> 16u, v.z & 0xffffu, v.z >> 16u), v.w != 0u);
}

fn pack(a: Fixed) -> vec4u {
  return vec4u(a.m[0] | (a.m[1] << 16u), a.m[2] | (a.m[3] << 16u), a.m[4] | (a.m[5] << 16u), select(0u, 1u, a.negative));
}

fn is_zero(a: Limbs) -> bool {
  return (a[0] | a[1] | a[2] | a[3] | a[4] | a[5]) == 0u;
}

// a > top · 2⁸⁰
fn above(a: Limbs, top: u32) -> bool {
  return a[5] > top || (a[5] == top && (a[0] | a[1] | a[2] | a[3] | a[4]) != 0u);
}

fn less(a: Limbs, b: Limbs) -> bool {
  for (var k = 5i; k >= 0i; k--) {
    if (a[k] != b[k]) {
      return a[k] < b[k];
    }
  }
  return false;
}

fn add_limbs(a: Limbs, b: Limbs) -> Limbs {
  var r: Limbs;
  var carry = 0u;
  for (var k = 0u; k < 6u; k++) {
    let t = a[k] + b[k] + carry;
    r[k] = t & 0xffffu;
    carry = t >> 16u;
  }
  return r;
}

// a − b for a ≥ b.
fn sub_limbs(a: Limbs, b: Limbs) -> Limbs {
  var r: Limbs;
  var borrow = 0u;
  for (var k = 0u; k < 6u; k++) {
    let t = a[k] + 0x10000u - b[k] - borrow;
    r[k] = t & 0xffffu;
    borrow = 1u - (t >> 16u);
  }
  return r;
}

fn shift_left1(a: Limbs) -> Limbs {
  var r: Limbs;
  var carry = 0u;
  for (var k = 0u; k < 6u; k++) {
    let t = (a[k] << 1u) | carry;
    r[k] = t & 0xffffu;
    carry = t >> 16u;
  }
  return r;
}

// floor(a·b / 2⁹²): the exact 192-bit product in twelve 16-bit columns, then bits 92..191
// (five limbs and twelve bits down).
fn mul_shift92(a: Limbs, b: Limbs) -> Limbs {
  var columns: array<u32, 12>;
  for (var i = 0u; i < 6u; i++) {
    for (var j = 0u; j < 6u; j++) {
      let product = a[i] * b[j];
      columns[i + j] += product & 0xffffu;
      columns[i + j + 1u] += product >> 16u;
    }
  }
  var carry = 0u;
  for (var k = 0u; k < 12u; k++) {
    let t = columns[k] + carry;
    columns[k] = t & 0xffffu;
    carry = t >> 16u;
  }
  var r: Limbs;
  for (var k = 0u; k < 6u; k++) {
    r[k] = (columns[k + 5u] >> 12u) | ((columns[k + 6u] << 4u) & 0xffffu);
  }
  return r;
}

// Exact signed addition; a zero result is positive.
fn add_fixed(a: Fixed, b: Fixed) -> Fixed {
  var r: Fixed;
  if (a.negative == b.negative) {
    r = Fixed(add_limbs(a.m, b.m), a.negative);
  } else if (less(a.m, b.m)) {
    r = Fixed(sub_limbs(b.m, a.m), b.negative);
  } else {
    r = Fixed(sub_limbs(a.m, b.m), a.negative);
  }
  r.negative = r.negative && !is_zero(r.m);
  return r;
}

const WORKGROUP_SIZE: u32 = 64u;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let p = tile.band_start + id.x;
  if (p >= tile.band_end) {
    return;
  }
  var orbit = orbits[id.x];
  if (orbit.done != 0u) {
    return;
  }
  let row = p / tile.width;
  let cx = unpack(coords[p - row * tile.width]);
  let cy = unpack(coords[tile.width + row]);
  var x = unpack(orbit.x);
  var y = unpack(orbit.y);
  var count = orbit.count;
  let start = count;
  // Bounded: at most tile.chunk trips, which the host sizes from measured time.
  let limit = min(tile.max_iterations, count + tile.chunk);
  var escaped = false;
  for (; count < limit; count++) {
    if (above(x.m, TWO_TOP) || above(y.m, TWO_TOP)) {
      escaped = true;
      break;
    }
    let x2 = mul_shift92(x.m, x.m);
    let y2 = mul_shift92(y.m, y.m);
    if (above(add_limbs(x2, y2), FOUR_TOP)) {
      escaped = true;
      break;
    }
    let xy = Fixed(mul_shift92(x.m, y.m), x.negative != y.negative);
    x = add_fixed(add_fixed(Fixed(x2, false), Fixed(y2, true)), cx);
    y = add_fixed(Fixed(shift_left1(xy.m), xy.negative), cy);
  }
  // One unit per iteration and one for the pixel, as the WASM kernel counts.
  atomicAdd(&counters.units, count - start + 1u);
  if (escaped || count == tile.max_iterations) {
    counts[p] = count;
    orbit.done = 1u;
  } else {
    atomicAdd(&counters.running, 1u);
  }
  orbit.x = pack(x);
  orbit.y = pack(y);
  orbit.count = count;
  orbits[id.x] = orbit;
}
