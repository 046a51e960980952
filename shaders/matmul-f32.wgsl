// matmul-f32: the f32 product, from the shared tiled kernel in matmul-blocked.wgsl.
alias Elem = f32;
