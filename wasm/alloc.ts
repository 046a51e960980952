// Memory for the host: the stub runtime's bump allocator. A run instantiates a fresh
// instance, allocates its buffers once, and drops the instance when it ends.

/** Reserves `bytes` of linear memory, 16-byte aligned, and returns its address. */
export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}
