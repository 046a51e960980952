import { randomFillSync } from 'node:crypto';

/** Uniforms in [0, 1) from the operating system's randomness, which clients cannot predict. */
export function secureUniforms(): () => number {
  // Refilled as it runs out: most checks draw a handful, and filling 4 kB for each costs more than the check.
  const words = new Uint32Array(64);
  let next = words.length;
  return () => {
    if (next === words.length) {
      randomFillSync(words);
      next = 0;
    }
    return words[next++]! / 2 ** 32;
  };
}
