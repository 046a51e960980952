import { transferHandlers } from 'comlink';
import { ApiError } from './api-error.ts';
import { GpuError } from './gpu-error.ts';
import { KernelError } from './kernel-error.ts';
import { SurgeError } from './surge-error.ts';

/**
 * Comlink sends a thrown error across a worker boundary as a plain `Error` with only its
 * message, name and stack. This wraps its "throw" handler so Surge's errors arrive with
 * their class, code and details, and the controller can act on a `GpuError` by type.
 * Call once in each realm (the page and the worker) before any call crosses.
 */
const errorClasses = { SurgeError, KernelError, GpuError, ApiError } as const;
type ErrorClassName = keyof typeof errorClasses;

interface SerializedSurgeError {
  surgeError: true;
  name: ErrorClassName;
  code: string;
  shortMessage: string;
  details: string | undefined;
  status: number | undefined;
  stack: string | undefined;
}

let registered = false;

export function registerErrorTransfer(): void {
  if (registered) return;
  registered = true;
  const original = transferHandlers.get('throw');
  if (!original) throw new Error('comlink has no "throw" transfer handler to extend');
  transferHandlers.set('throw', {
    canHandle: original.canHandle,
    serialize(thrown) {
      const value = (thrown as { value: unknown }).value;
      if (value instanceof SurgeError && value.name in errorClasses) {
        const serialized: SerializedSurgeError = {
          surgeError: true,
          name: value.name as ErrorClassName,
          code: value.code,
          shortMessage: value.shortMessage,
          details: value.details,
          status: value instanceof ApiError ? value.status : undefined,
          stack: value.stack,
        };
        return [serialized, []];
      }
      return original.serialize(thrown);
    },
    deserialize(serialized) {
      const value = serialized as Partial<SerializedSurgeError>;
      if (value.surgeError !== true || !value.name) return original.deserialize(serialized);
      const options = value.details === undefined ? {} : { details: value.details };
      const error =
        value.name === 'ApiError'
          ? new ApiError(value.status ?? 0, value.code ?? 'SURGE_E_UNKNOWN', value.shortMessage ?? '', options)
          : value.name === 'SurgeError'
            ? new SurgeError(value.code ?? 'SURGE_E_UNKNOWN', value.shortMessage ?? '', options)
            : new errorClasses[value.name](value.code as never, value.shortMessage ?? '', options);
      if (value.stack) error.stack = value.stack;
      throw error;
    },
  });
}
