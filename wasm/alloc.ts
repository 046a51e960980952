// Memory for the host: the stub runtime's bump allocator. A run allocates its buffers once;
// when it ends, its instance is dropped, or kept and its heap reset for the next run (see
// `acquireSurgeWasm` in src/worker/surge-wasm.ts).

/** Reserves `bytes` of linear memory, 16-byte aligned, and returns its address. */
export function alloc(bytes: usize): usize {
  return heap.alloc(bytes);
}

/**
 * Forgets every allocation: the next `alloc` starts again at the bottom of the heap. The
 * memory keeps its size and its contents, so the next run reuses pages already mapped.
 */
export function freeAll(): void {
  heap.reset();
}
