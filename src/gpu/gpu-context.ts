import { GpuError } from '../errors/gpu-error.ts';
import { KernelError } from '../errors/kernel-error.ts';
import { BufferPool } from './buffer-pool.ts';

/** What the contributor page shows about the GPU in use. */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
}

/**
 * A WebGPU device with its failure paths wired once, here (CONVENTIONS.md, GPU code):
 * `device.lost` and `uncapturederror` become typed `GpuError`s that the runs using the
 * device see at their next step, so the controller can re-create the device or fall back
 * to WASM from the last checkpoint.
 */
export class GpuContext {
  /** Set once the device is lost or reported an error no scope caught. */
  failure: GpuError | undefined;
  readonly buffers: BufferPool;
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
  ) {
    this.buffers = new BufferPool(device);
    device.lost.then((info) => {
      this.failure ??= new GpuError('SURGE_E_GPU_DEVICE_LOST', `The GPU device was lost (${info.reason || 'unknown reason'}).`, {
        details: info.message,
      });
    });
    device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      const code = error instanceof GPUOutOfMemoryError ? 'SURGE_E_GPU_OUT_OF_MEMORY' : 'SURGE_E_GPU_VALIDATION';
      this.failure ??= new GpuError(code, 'The GPU reported an error while running a kernel.', { details: error.message });
    });
  }

  /**
   * Throws a KernelError that names the limit when a buffer of `bytes` would exceed what this
   * device can allocate and bind, instead of letting WebGPU fail (the unit can run on WASM).
   */
  assertBindable(label: string, bytes: number): void {
    const limit = Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize);
    if (bytes > limit) {
      throw new KernelError('SURGE_E_KERNEL_TOO_LARGE', `${label} needs ${bytes} bytes, more than this GPU can bind (${limit}).`);
    }
  }

  /** Throws the recorded failure, if any; runs call it before and after each submit. */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** Asks for an adapter and a device, with the limits Surge's kernels need requested explicitly. */
  static async create(): Promise<GpuContext> {
    if (typeof navigator === 'undefined' || !navigator.gpu) {
      throw new GpuError('SURGE_E_GPU_UNAVAILABLE', 'This browser has no WebGPU (navigator.gpu is missing).');
    }
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) throw new GpuError('SURGE_E_GPU_UNAVAILABLE', 'WebGPU found no adapter on this machine.');
    const info = adapter.info;
    const device = await adapter.requestDevice({
      label: 'surge',
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    return new GpuContext(device, {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description,
      // `isFallbackAdapter` moved from GPUAdapter to GPUAdapterInfo (Chromium 128+).
      isFallbackAdapter: Boolean((info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    });
  }

  /**
   * The compute pipeline for `key`, built once per device. The key names the kernel and
   * every value baked into the shader, so two variants never share an entry.
   */
  pipeline(key: string, shaderSources: string[]): GPUComputePipeline {
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      const module = this.device.createShaderModule({ label: key, code: shaderSources.join('\n') });
      pipeline = this.device.createComputePipeline({ label: key, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /**
   * Submits one command buffer and waits for the GPU to finish it. Errors the device reports
   * for this submit (validation, out of memory) are caught in error scopes, and a device lost
   * meanwhile wins the race against completion, so a step never counts work the GPU did not do.
   */
  async submitAndWait(label: string, encode: (encoder: GPUCommandEncoder) => void): Promise<void> {
    this.throwIfFailed();
    const { device } = this;
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const encoder = device.createCommandEncoder({ label });
    encode(encoder);
    device.queue.submit([encoder.finish()]);
    // Scopes pop innermost first: validation, then out-of-memory.
    const scopes = Promise.all([device.popErrorScope(), device.popErrorScope()]);
    const done = Promise.all([device.queue.onSubmittedWorkDone(), scopes]).then(([, errors]) => errors);
    // The constructor's device.lost handler was attached first, so it has set `failure` by
    // the time this race resolves as lost.
    const outcome = await Promise.race([done, device.lost.then(() => 'lost' as const)]);
    if (outcome !== 'lost') {
      const [validationError, memoryError] = outcome;
      if (memoryError) this.failure ??= new GpuError('SURGE_E_GPU_OUT_OF_MEMORY', `The GPU ran out of memory in ${label}.`, { details: memoryError.message });
      if (validationError) this.failure ??= new GpuError('SURGE_E_GPU_VALIDATION', `The GPU refused ${label}.`, { details: validationError.message });
    }
    this.throwIfFailed();
  }

  /** Copies `bytes` from the start of `source` back to the CPU. */
  async read(label: string, source: GPUBuffer, bytes: number): Promise<Uint8Array> {
    if (bytes === 0) return new Uint8Array(0);
    const staging = this.buffers.acquire(`${label} readback`, bytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    try {
      await this.submitAndWait(`${label} readback`, (encoder) => encoder.copyBufferToBuffer(source, 0, staging, 0, bytes));
      try {
        await staging.mapAsync(GPUMapMode.READ, 0, bytes);
      } catch (cause) {
        // mapAsync fails when the device goes away, sometimes before device.lost settles.
        this.failure ??= new GpuError('SURGE_E_GPU_DEVICE_LOST', `Reading ${label} back from the GPU failed.`, { cause });
      }
      this.throwIfFailed();
      try {
        return new Uint8Array(staging.getMappedRange(0, bytes).slice(0));
      } finally {
        staging.unmap();
      }
    } finally {
      this.buffers.release(staging);
    }
  }

  destroy(): void {
    this.buffers.destroy();
    this.device.destroy();
  }
}

/** A name for an adapter that a person recognises. */
export function adapterLabel(adapter: AdapterDescription): string {
  const name = adapter.description || [adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ') || 'unknown GPU';
  return adapter.isFallbackAdapter ? `${name} (software fallback)` : name;
}
