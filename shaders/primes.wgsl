// primes: one submit's range of blocks, sieved over odd numbers and counted per block (see
// src/kernels/primes.ts for the output, src/gpu/gpu-primes.ts for the host).
//
// Bit i of `sieve` stands for the odd number base + 2i + 1 (base even, 64-bit as two u32);
// a set bit means composite. WGSL has no 64-bit integers, but every offset inside a submit
// fits a u32: only the first multiple of p past base needs base mod p, computed in 5-bit
// steps so that no product passes 2^32 (base primes are below 2^27).
//
// The file is compiled twice, with `const PHASE` declared before it by the host (GpuContext
// compiles entry point `main` only):
//   PHASE 0, large primes (p ≥ SEGMENT_BITS): one invocation per prime crosses its few
//     multiples in the whole range, with atomicOr on the storage bitmap.
//   PHASE 1, segments: one workgroup per SEGMENT_BITS bits copies its part of the bitmap
//     into workgroup memory, crosses the small primes there, and counts primes and twins.
//     Each segment also sieves the next segment's first word, which the twin test of its
//     last bit needs.
// Both run in one compute pass: there each dispatch is its own usage scope (WebGPU spec,
// "Usage scopes"), so the implementation makes PHASE 0's storage writes visible to PHASE 1.

struct Params {
  base_hi: u32,
  base_lo: u32,
  // Bits [0, end_bit) are counted; bit end_bit (the partner of the last odd number) is sieved.
  end_bit: u32,
  // Words of the bitmap the large primes cross: segments · SEGMENT_WORDS + 1.
  sieve_words: u32,
  // Bits per block (blockSize / 2): blocks start on multiples of 512 bits.
  block_bits: u32,
  first_block: u32,
  // The block that holds the number 2 (which the odd-only bitmap lacks), or NO_BLOCK.
  two_block: u32,
  // primes[0, tiny_count) are crossed by the whole workgroup together, primes[tiny_count,
  // small_count) by one invocation each, primes[small_count, prime_count) in PHASE 0.
  tiny_count: u32,
  small_count: u32,
  prime_count: u32,
}

const WORKGROUP: u32 = 256u;
const SEGMENT_WORDS: u32 = 2048u;
const SEGMENT_BITS: u32 = 65536u;
// A segment with the next segment's first word: 8196 bytes of workgroup memory.
const SIEVED_BITS: u32 = 65568u;
const WORDS_PER_INVOCATION: u32 = 8u;
const NO_BLOCK: u32 = 0xffffffffu;

@group(0) @binding(0) var<storage, read> primes: array<u32>;
@group(0) @binding(1) var<storage, read_write> sieve: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> segment: array<atomic<u32>, 2049>;
var<workgroup> tiny_first: array<u32, 256>;

// (hi·2^32 + lo) mod p for p < 2^27: r < 2^27, so r·2^5 + 31 < 2^32 at every step.
fn mod64(hi: u32, lo: u32, p: u32) -> u32 {
  var r = hi % p;
  for (var shift = 27i; shift >= 2i; shift -= 5i) {
    r = ((r << 5u) | ((lo >> u32(shift)) & 31u)) % p;
  }
  return ((r << 2u) | (lo & 3u)) % p;
}

// The bit offset from the odd number x = (x_hi, x_lo) of the first odd multiple of p to
// cross: the first at or above x, but never p itself (3p when x ≤ p). Below 1.5·p.
fn first_multiple(x_hi: u32, x_lo: u32, p: u32) -> u32 {
  if (x_hi == 0u && x_lo <= p) {
    return (3u * p - x_lo) / 2u;
  }
  var gap = (p - mod64(x_hi, x_lo, p)) % p;
  if ((gap & 1u) == 1u) {
    gap += p;
  }
  return gap / 2u;
}

fn sieve_large(index: u32) {
  let k = params.small_count + index;
  if (k >= params.prime_count) {
    return;
  }
  let p = primes[k];
  let limit = params.sieve_words * 32u;
  // base is even, so base + 1 does not carry. At most limit / p + 1 iterations.
  for (var i = first_multiple(params.base_hi, params.base_lo + 1u, p); i < limit; i += p) {
    atomicOr(&sieve[i >> 5u], 1u << (i & 31u));
  }
}

fn cross(i: u32) {
  atomicOr(&segment[i >> 5u], 1u << (i & 31u));
}

fn sieve_segment(group: u32, local: u32) {
  let word0 = group * SEGMENT_WORDS;
  for (var k = local; k <= SEGMENT_WORDS; k += WORKGROUP) {
    atomicStore(&segment[k], atomicLoad(&sieve[word0 + k]));
  }
  // The segment's first number, x = base + 1 + 2·group·SEGMENT_BITS, with the carry.
  let offset = group * 2u * SEGMENT_BITS;
  let x_lo = params.base_lo + 1u + offset;
  let x_hi = params.base_hi + select(0u, 1u, x_lo < offset);
  if (local < params.tiny_count) {
    tiny_first[local] = first_multiple(x_hi, x_lo, primes[local]);
  }
  workgroupBarrier();

  // Tiny primes have thousands of multiples per segment: invocation `local` takes every
  // WORKGROUP-th one, so no invocation waits on p = 3 alone. At most 86 iterations.
  for (var t = 0u; t < params.tiny_count; t++) {
    let p = primes[t];
    for (var i = tiny_first[t] + local * p; i < SIEVED_BITS; i += WORKGROUP * p) {
      cross(i);
    }
  }
  // The other small primes (p ≥ 1024): one invocation each, at most 65 iterations.
  for (var k = params.tiny_count + local; k < params.small_count; k += WORKGROUP) {
    let p = primes[k];
    for (var i = first_multiple(x_hi, x_lo, p); i < SIEVED_BITS; i += p) {
      cross(i);
    }
  }
  // 1 is not prime; it is bit 0 of segment 0 when the range starts at 0 or 1.
  if (group == 0u && local == 0u && params.base_hi == 0u && params.base_lo == 0u) {
    cross(0u);
  }
  workgroupBarrier();

  if (group == 0u && local == 0u && params.two_block != NO_BLOCK) {
    atomicAdd(&counts[2u * params.two_block], 1u);
  }
  // Invocation `local` counts 256 bits, which lie in one block (blocks are whole multiples
  // of 512 bits from bit 0).
  let bit0 = group * SEGMENT_BITS + local * WORDS_PER_INVOCATION * 32u;
  if (bit0 >= params.end_bit) {
    return;
  }
  var prime_count = 0u;
  var twin_count = 0u;
  for (var j = 0u; j < WORDS_PER_INVOCATION; j++) {
    let bit = bit0 + j * 32u;
    if (bit >= params.end_bit) {
      break;
    }
    let k = local * WORDS_PER_INVOCATION + j;
    let composite = atomicLoad(&segment[k]);
    let next = atomicLoad(&segment[k + 1u]);
    let left = params.end_bit - bit;
    let mask = select(0xffffffffu, (1u << left) - 1u, left < 32u);
    let prime = ~composite & mask;
    prime_count += countOneBits(prime);
    twin_count += countOneBits(prime & ~((composite >> 1u) | (next << 31u)));
  }
  let block = params.first_block + bit0 / params.block_bits;
  if (prime_count != 0u) {
    atomicAdd(&counts[2u * block], prime_count);
  }
  if (twin_count != 0u) {
    atomicAdd(&counts[2u * block + 1u], twin_count);
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) local: u32) {
  if (PHASE == 0u) {
    sieve_large(group.x * WORKGROUP + local);
  } else {
    sieve_segment(group.x, local);
  }
}
