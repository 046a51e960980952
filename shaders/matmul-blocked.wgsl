// Rows [row_start, row_end) of C (m×n) = A (m×k) · B (k×n), row-major, element type Elem
// (declared by the kernel's own file: matmul-f32.wgsl or matmul-u32.wgsl).
//
// Each workgroup of 16×16 invocations computes a 64×64 tile of C; each invocation holds a
// 4×4 block of accumulators in registers. Per step of 16 along k, the workgroup stages a
// 64×16 tile of A and a 16×64 tile of B in workgroup memory, so every value loaded from
// global memory serves 64 multiply-adds. An invocation owns rows local.y + 16·i and columns
// local.x + 16·j, so neighbouring invocations read neighbouring addresses (coalesced, and
// free of bank conflicts on B).

struct Shape {
  m: u32,
  n: u32,
  k: u32,
  row_start: u32,
  row_end: u32,
}

const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 16u;
const THREADS: u32 = 256u;

@group(0) @binding(0) var<storage, read> a: array<Elem>;
@group(0) @binding(1) var<storage, read> b: array<Elem>;
@group(0) @binding(2) var<storage, read_write> c: array<Elem>;
@group(0) @binding(3) var<uniform> shape: Shape;

var<workgroup> tile_a: array<array<Elem, TILE_K>, TILE_M>;
var<workgroup> tile_b: array<array<Elem, TILE_N>, TILE_K>;

@compute @workgroup_size(16, 16)
fn main(
  @builtin(local_invocation_id) local: vec3u,
  @builtin(local_invocation_index) flat: u32,
  @builtin(workgroup_id) group: vec3u,
) {
  let row0 = shape.row_start + group.y * TILE_M;
  let col0 = group.x * TILE_N;
  var acc: array<array<Elem, 4>, 4>;
  // Bounded: the trip count comes from a uniform and is the same for the whole workgroup,
  // as workgroupBarrier requires (WGSL §15.2, uniformity analysis).
  let steps = (shape.k + TILE_K - 1u) / TILE_K;
  for (var step = 0u; step < steps; step++) {
    let k0 = step * TILE_K;
    for (var e = 0u; e < 4u; e++) {
      let index = flat + e * THREADS;
      let r = index / TILE_K;
      let kk = index % TILE_K;
      var va = Elem(0);
      if (row0 + r < shape.row_end && k0 + kk < shape.k) {
        va = a[(row0 + r) * shape.k + k0 + kk];
      }
      tile_a[r][kk] = va;
      let kb = index / TILE_N;
      let col = index % TILE_N;
      var vb = Elem(0);
      if (k0 + kb < shape.k && col0 + col < shape.n) {
        vb = b[(k0 + kb) * shape.n + col0 + col];
      }
      tile_b[kb][col] = vb;
    }
    workgroupBarrier();
    for (var p = 0u; p < TILE_K; p++) {
      var av: array<Elem, 4>;
      var bv: array<Elem, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = tile_a[local.y + 16u * i][p];
        bv[i] = tile_b[p][local.x + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] = acc[i][j] + av[i] * bv[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + local.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + local.x + 16u * j;
      if (row < shape.row_end && col < shape.n) {
        c[row * shape.n + col] = acc[i][j];
      }
    }
  }
}
