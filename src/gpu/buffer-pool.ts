/**
 * Reuses GPU buffers between runs: `acquire` hands out a free buffer of the same usage and
 * at least the size asked (sizes round up to a power of two, at least 256 bytes), `release`
 * takes it back. `outstanding` counts buffers handed out and not returned, so a test can
 * show that a run leaks none.
 */
export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private readonly inUse = new Set<GPUBuffer>();
  private pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Free buffers beyond this many bytes are destroyed rather than kept. */
    private readonly maxPooledBytes = 256 * 1024 * 1024,
  ) {}

  acquire(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    const rounded = Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(size, 1))));
    const key = `${usage}:${rounded}`;
    const reused = this.free.get(key)?.pop();
    let buffer: GPUBuffer;
    if (reused) {
      this.pooledBytes -= rounded;
      buffer = reused;
      buffer.label = label;
    } else {
      buffer = this.device.createBuffer({ label, size: rounded, usage });
    }
    this.inUse.add(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.inUse.delete(buffer)) return;
    if (this.pooledBytes + buffer.size > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    const key = `${buffer.usage}:${buffer.size}`;
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
    this.pooledBytes += buffer.size;
  }

  get outstanding(): number {
    return this.inUse.size;
  }

  destroy(): void {
    for (const list of this.free.values()) for (const buffer of list) buffer.destroy();
    for (const buffer of this.inUse) buffer.destroy();
    this.free.clear();
    this.inUse.clear();
    this.pooledBytes = 0;
  }
}
