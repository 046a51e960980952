import { randomFillSync } from 'node:crypto';

/** Uniforms in [0, 1) from the operating system's randomness, which clients cannot predict. */
export function secureUniforms(): () => number {
  const words = new Uint32Array(1024);
  let next = words.length;
  return () => {
    if (next === words.length) {
      randomFillSync(words);
      next = 0;
    }
    return words[next++]! / 2 ** 32;
  };
}
