import { KernelError } from '../errors/kernel-error.ts';
import type { InputRef } from '../protocol/schemas.ts';

function hex(bytes: ArrayBuffer): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** How long fetching an input may take before it counts as unreachable. */
const kFetchTimeoutMs = 30_000;

/**
 * The bytes of an input given as data: decoded inline, or fetched and checked against its
 * SHA-256, so a contributor computes (and a validator checks) exactly the data the requester
 * named. Runs in the browser and in Node (fetch and WebCrypto in both).
 */
export async function resolveInput(ref: InputRef, expectedBytes: number, what: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  if ('inline' in ref) {
    bytes = fromBase64(ref.inline);
  } else {
    let response: Response;
    try {
      response = await fetch(ref.url, { signal: AbortSignal.timeout(kFetchTimeoutMs) });
    } catch (cause) {
      throw new KernelError('SURGE_E_KERNEL_INPUT_FETCH', `${what}: ${ref.url} could not be fetched.`, { cause });
    }
    if (!response.ok) throw new KernelError('SURGE_E_KERNEL_INPUT_FETCH', `${what}: ${ref.url} answered HTTP ${response.status}.`);
    const buffer = await response.arrayBuffer();
    bytes = new Uint8Array(buffer);
    const digest = hex(await crypto.subtle.digest('SHA-256', buffer));
    if (digest !== ref.sha256) {
      throw new KernelError('SURGE_E_KERNEL_INPUT_HASH', `${what}: the data at ${ref.url} has SHA-256 ${digest}, not the ${ref.sha256} the unit names.`);
    }
  }
  if (bytes.byteLength !== expectedBytes) {
    throw new KernelError('SURGE_E_KERNEL_INPUT_SIZE', `${what}: the input has ${bytes.byteLength} bytes; this unit needs ${expectedBytes}.`);
  }
  return bytes;
}
