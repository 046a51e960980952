// Fills a rows × cols matrix, row-major, with the generator's elements starting at global
// (row0, col0): element (r, c) is word c % 4 of Philox(key, [c >> 2, r, stream, 0]), as raw
// u32 words or as f32 in [-1, 1) (stored by bit pattern). Needs shaders/philox.wgsl.
// One invocation writes one row's elements of one Philox block (up to 4 columns).

struct Fill {
  key: vec2u,
  stream: u32,
  row0: u32,
  col0: u32,
  rows: u32,
  cols: u32,
  as_float: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> fill: Fill;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let first_block = fill.col0 >> 2u;
  let blocks = ((fill.col0 + fill.cols + 3u) >> 2u) - first_block;
  let r = id.y;
  let b = id.x;
  if (r >= fill.rows || b >= blocks) {
    return;
  }
  let words = philox4x32(fill.key, vec4u(first_block + b, fill.row0 + r, fill.stream, 0u));
  for (var w = 0u; w < 4u; w++) {
    let column = (first_block + b) * 4u + w;
    if (column >= fill.col0 && column < fill.col0 + fill.cols) {
      var value = words[w];
      if (fill.as_float != 0u) {
        value = bitcast<u32>(philox_unit_f32(value));
      }
      out[r * fill.cols + (column - fill.col0)] = value;
    }
  }
}
