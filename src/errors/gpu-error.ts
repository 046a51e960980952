import { SurgeError, type SurgeErrorOptions } from './surge-error.ts';

export type GpuErrorCode = 'SURGE_E_GPU_UNAVAILABLE' | 'SURGE_E_GPU_DEVICE_LOST' | 'SURGE_E_GPU_VALIDATION' | 'SURGE_E_GPU_OUT_OF_MEMORY';

/** WebGPU failed: no adapter, a lost device, or an error the device reported. */
export class GpuError extends SurgeError {
  override name = 'GpuError';
  constructor(code: GpuErrorCode, message: string, options?: SurgeErrorOptions) {
    super(code, message, options);
  }
}
