import { GpuError } from '../errors/gpu-error.ts';

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

  private constructor(
    readonly device: GPUDevice,
    readonly adapter: AdapterDescription,
  ) {
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

  destroy(): void {
    this.device.destroy();
  }
}

/** A name for an adapter that a person recognises. */
export function adapterLabel(adapter: AdapterDescription): string {
  const name = adapter.description || [adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ') || 'unknown GPU';
  return adapter.isFallbackAdapter ? `${name} (software fallback)` : name;
}
