// matmul-u32: the wrapping integer product (WGSL u32 arithmetic wraps mod 2^32, §8.7),
// from the shared tiled kernel in matmul-blocked.wgsl; the same bytes on every device.
alias Elem = u32;
