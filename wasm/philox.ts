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
 */
export function philoxFill(ptr: usize, key0: u32, key1: u32, stream: u32, row0: u32, col0: u32, rows: u32, cols: u32, asFloat: bool): void {
  for (let r: u32 = 0; r < rows; r++) {
    let lastBlock: u32 = 0xffffffff;
    const rowPtr = ptr + ((<usize>r * <usize>cols) << 2);
    for (let c: u32 = 0; c < cols; c++) {
      const column = col0 + c;
      const block = column >> 2;
      if (block != lastBlock) {
        philox4x32(key0, key1, block, row0 + r, stream, 0);
        lastBlock = block;
      }
      const value = word(column & 3);
      if (asFloat) store<f32>(rowPtr + (<usize>c << 2), <f32>(value >> 8) * 1.1920928955078125e-7 - 1.0);
      else store<u32>(rowPtr + (<usize>c << 2), value);
    }
  }
}
