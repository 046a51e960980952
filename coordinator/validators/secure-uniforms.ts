import { randomFillSync } from 'node:crypto';

/**
 * Uniforms in [0, 1) from the operating system's randomness, which clients cannot predict,
 * drawn from a pool of `size` words refilled as it runs out.
 */
export function secureUniforms(size = 64): () => number {
  const words = new Uint32Array(size);
  let next = words.length;
  return () => {
    if (next === words.length) {
      randomFillSync(words);
      next = 0;
    }
    return words[next++]! / 2 ** 32;
  };
}

/**
 * The process's pool, shared by every check: most checks draw a handful of uniforms, and a
 * system call per check (a pool each) cost more than the check itself under load.
 */
export const sharedSecureUniforms = secureUniforms(1024);
