import { SurgeError, type SurgeErrorOptions } from './surge-error.ts';

/** A kernel was asked for something it cannot do: bad parameters, a size past a limit. */
export class KernelError extends SurgeError {
  override name = 'KernelError';
  constructor(code: `SURGE_E_KERNEL_${string}`, message: string, options?: SurgeErrorOptions) {
    super(code, message, options);
  }
}
