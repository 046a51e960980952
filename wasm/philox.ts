// Philox-4x32-10 (Salmon et al., SC'11), the same generator as src/kernels/philox.ts and
// shaders/philox.wgsl: the three must agree bit for bit (test/vectors/philox.json).

const kMul0: u32 = 0xd2511f53;
const kMul1: u32 = 0xcd9e8d57;
const kWeyl0: u32 = 0x9e3779b9;
const kWeyl1: u32 = 0xbb67ae85;

// The four output words of the last call, read with philoxWord(i).
let out0: u32 = 0;
let out1: u32 = 0;
let out2: u32 = 0;
let out3: u32 = 0;

/** One Philox-4x32-10 block; read its words with `philoxWord`. */
export function philox4x32(key0: u32, key1: u32, c0: u32, c1: u32, c2: u32, c3: u32): void {
  let k0 = key0;
  let k1 = key1;
  for (let round = 0; round < 10; round++) {
    const p0 = u64(kMul0) * u64(c0);
    const p1 = u64(kMul1) * u64(c2);
    const hi0 = u32(p0 >> 32);
    const lo0 = u32(p0);
    const hi1 = u32(p1 >> 32);
    const lo1 = u32(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  out0 = c0;
  out1 = c1;
  out2 = c2;
  out3 = c3;
}

@inline
function word(i: u32): u32 {
  return i == 0 ? out0 : i == 1 ? out1 : i == 2 ? out2 : out3;
}

export function philoxWord(i: u32): u32 {
  return word(i & 3);
}

/**
 * Fills rows × cols elements, row-major, of the matrix drawn from (key, stream) starting at
 * global (row0, col0): element (r, c) is word c % 4 of Philox(key, [c >> 2, r, stream, 0]).
 * `asFloat` maps each word to an f32 in [-1, 1) exactly as u32ToUnitF32 does.
 *
 * Four blocks run side by side in SIMD lanes (16 columns a step); the columns before the
 * first whole block and after the last group of four are drawn one block at a time.
 */
export function philoxFill(ptr: usize, key0: u32, key1: u32, stream: u32, row0: u32, col0: u32, rows: u32, cols: u32, asFloat: bool): void {
  // Columns past 2³² wrap to 0, where blocks do not follow on: such rows are drawn one block at a time.
  const wraps = <u64>col0 + <u64>cols > 0x1_0000_0000;
  // Offsets from col0 of the first column that starts a block, and of the end of the SIMD steps.
  const simdFrom: u32 = wraps ? cols : min(((col0 + 3) & ~3) - col0, cols);
  const simdTo: u32 = simdFrom + ((cols - simdFrom) & ~15);
  for (let r: u32 = 0; r < rows; r++) {
    const rowPtr = ptr + ((<usize>r * <usize>cols) << 2);
    const row = row0 + r;
    fillScalar(rowPtr, key0, key1, stream, row, col0, 0, simdFrom, asFloat);
    let c = simdFrom;
    for (; simdTo - c >= 32; c += 32) fillThirtyTwo(rowPtr + (<usize>c << 2), key0, key1, stream, row, (col0 + c) >> 2, asFloat);
    if (c < simdTo) fillSixteen(rowPtr + (<usize>c << 2), key0, key1, stream, row, (col0 + c) >> 2, asFloat);
    fillScalar(rowPtr, key0, key1, stream, row, col0, simdTo, cols, asFloat);
  }
}

/** Columns col0 + [from, to) of one row (wrapping past 2³²), one block at a time; `rowPtr` holds column col0. */
@inline
function fillScalar(rowPtr: usize, key0: u32, key1: u32, stream: u32, row: u32, col0: u32, from: u32, to: u32, asFloat: bool): void {
  let lastBlock: u32 = 0xffffffff;
  for (let c = from; c < to; c++) {
    const column = col0 + c;
    const block = column >> 2;
    if (block != lastBlock) {
      philox4x32(key0, key1, block, row, stream, 0);
      lastBlock = block;
    }
    const value = word(column & 3);
    const at = rowPtr + (<usize>c << 2);
    if (asFloat) store<f32>(at, <f32>(value >> 8) * 1.1920928955078125e-7 - 1.0);
    else store<u32>(at, value);
  }
}

/** The high halves of four u32 × u32 products, one per lane. */
@inline
function mulhi4(a: v128, b: v128): v128 {
  return v128.shuffle<u32>(v128.extmul_low<u32>(a, b), v128.extmul_high<u32>(a, b), 1, 3, 5, 7);
}

/** Writes four words, or the f32 in [-1, 1) each maps to. */
@inline
function storeFour(at: usize, words: v128, asFloat: bool): void {
  if (asFloat) {
    const scaled = f32x4.mul(f32x4.convert_i32x4_u(i32x4.shr_u(words, 8)), f32x4.splat(1.1920928955078125e-7));
    v128.store(at, f32x4.sub(scaled, f32x4.splat(1.0)));
  } else {
    v128.store(at, words);
  }
}

/**
 * Blocks [block, block + 8) of one row: two groups of four in flight at once, since each round
 * waits on the multiplications of the round before it.
 */
@inline
function fillThirtyTwo(at: usize, key0: u32, key1: u32, stream: u32, row: u32, block: u32, asFloat: bool): void {
  let a0 = i32x4.add(i32x4.splat(block), i32x4(0, 1, 2, 3));
  let b0 = i32x4.add(i32x4.splat(block), i32x4(4, 5, 6, 7));
  let a1 = i32x4.splat(row);
  let b1 = a1;
  let a2 = i32x4.splat(stream);
  let b2 = a2;
  let a3 = i32x4.splat(0);
  let b3 = a3;
  const m0 = i32x4.splat(kMul0);
  const m1 = i32x4.splat(kMul1);
  let k0 = key0;
  let k1 = key1;
  for (let round = 0; round < 10; round++) {
    const key0v = i32x4.splat(k0);
    const key1v = i32x4.splat(k1);
    const aHi0 = mulhi4(m0, a0);
    const bHi0 = mulhi4(m0, b0);
    const aLo0 = i32x4.mul(m0, a0);
    const bLo0 = i32x4.mul(m0, b0);
    const aHi1 = mulhi4(m1, a2);
    const bHi1 = mulhi4(m1, b2);
    const aLo1 = i32x4.mul(m1, a2);
    const bLo1 = i32x4.mul(m1, b2);
    a0 = v128.xor(v128.xor(aHi1, a1), key0v);
    b0 = v128.xor(v128.xor(bHi1, b1), key0v);
    a1 = aLo1;
    b1 = bLo1;
    a2 = v128.xor(v128.xor(aHi0, a3), key1v);
    b2 = v128.xor(v128.xor(bHi0, b3), key1v);
    a3 = aLo0;
    b3 = bLo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  storeBlocks(at, a0, a1, a2, a3, asFloat);
  storeBlocks(at + 64, b0, b1, b2, b3, asFloat);
}

/** Blocks [block, block + 4) of one row: Philox-4x32-10 with block i's counter in lane i. */
@inline
function fillSixteen(at: usize, key0: u32, key1: u32, stream: u32, row: u32, block: u32, asFloat: bool): void {
  let c0 = i32x4.add(i32x4.splat(block), i32x4(0, 1, 2, 3));
  let c1 = i32x4.splat(row);
  let c2 = i32x4.splat(stream);
  let c3 = i32x4.splat(0);
  const m0 = i32x4.splat(kMul0);
  const m1 = i32x4.splat(kMul1);
  let k0 = key0;
  let k1 = key1;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi4(m0, c0);
    const lo0 = i32x4.mul(m0, c0);
    const hi1 = mulhi4(m1, c2);
    const lo1 = i32x4.mul(m1, c2);
    c0 = v128.xor(v128.xor(hi1, c1), i32x4.splat(k0));
    c1 = lo1;
    c2 = v128.xor(v128.xor(hi0, c3), i32x4.splat(k1));
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  storeBlocks(at, c0, c1, c2, c3, asFloat);
}

/** Writes four blocks' words from the state where lane i of c0..c3 holds block i's: transposed so each block's words are adjacent. */
@inline
function storeBlocks(at: usize, c0: v128, c1: v128, c2: v128, c3: v128, asFloat: bool): void {
  const low01 = v128.shuffle<u32>(c0, c1, 0, 4, 1, 5);
  const low23 = v128.shuffle<u32>(c2, c3, 0, 4, 1, 5);
  const high01 = v128.shuffle<u32>(c0, c1, 2, 6, 3, 7);
  const high23 = v128.shuffle<u32>(c2, c3, 2, 6, 3, 7);
  storeFour(at, v128.shuffle<u32>(low01, low23, 0, 1, 4, 5), asFloat);
  storeFour(at + 16, v128.shuffle<u32>(low01, low23, 2, 3, 6, 7), asFloat);
  storeFour(at + 32, v128.shuffle<u32>(high01, high23, 0, 1, 4, 5), asFloat);
  storeFour(at + 48, v128.shuffle<u32>(high01, high23, 2, 3, 6, 7), asFloat);
}
