// matmul-f32: rows [row_start, row_end) of C (m×n) = A (m×k) · B (k×n), row-major f32.
// Tiled through workgroup memory: each workgroup loads a TILE×TILE block of A and of B per
// step of the inner dimension, so every global load serves TILE multiply-adds.
// The host dispatches (ceil(n / TILE), ceil((row_end - row_start) / TILE)) workgroups per
// submit, a band of rows sized to keep each submit near 100 ms.

struct Shape {
  m: u32,
  n: u32,
  k: u32,
  row_start: u32,
  row_end: u32,
}

const TILE: u32 = 16u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@group(0) @binding(3) var<uniform> shape: Shape;

var<workgroup> tile_a: array<array<f32, TILE>, TILE>;
var<workgroup> tile_b: array<array<f32, TILE>, TILE>;

@compute @workgroup_size(TILE, TILE)
fn main(@builtin(local_invocation_id) local: vec3u, @builtin(workgroup_id) group: vec3u) {
  let row = shape.row_start + group.y * TILE + local.y;
  let col = group.x * TILE + local.x;
  let row_in = row < shape.row_end;
  let col_in = col < shape.n;
  // Bounded: the trip count comes from a uniform and is the same for the whole workgroup,
  // as workgroupBarrier requires (WGSL §14.2, uniformity).
  let steps = (shape.k + TILE - 1u) / TILE;
  var sum = 0.0;
  for (var step = 0u; step < steps; step++) {
    let ka = step * TILE + local.x;
    let kb = step * TILE + local.y;
    var va = 0.0;
    if (row_in && ka < shape.k) {
      va = a[row * shape.k + ka];
    }
    var vb = 0.0;
    if (col_in && kb < shape.k) {
      vb = b[kb * shape.n + col];
    }
    tile_a[local.y][local.x] = va;
    tile_b[local.y][local.x] = vb;
    workgroupBarrier();
    for (var p = 0u; p < TILE; p++) {
      sum = sum + tile_a[local.y][p] * tile_b[p][local.x];
    }
    workgroupBarrier();
  }
  if (row_in && col_in) {
    c[row * shape.n + col] = sum;
  }
}
