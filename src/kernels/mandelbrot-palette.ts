/**
 * The colours of a Mandelbrot picture, shared by the coordinator's PNG output and preview
 * and by the contributor page's live view, so a tile looks the same everywhere. Points in
 * the set (count = maxIterations) are black; the rest follow a cosine palette cycled by
 * log₂(count + 1), so deep zooms with large counts still show their bands.
 */
export function mandelbrotColour(count: number, maxIterations: number, rgba: Uint8Array | Uint8ClampedArray, offset: number): void {
  rgba[offset + 3] = 255;
  if (count >= maxIterations) {
    rgba[offset] = 0;
    rgba[offset + 1] = 0;
    rgba[offset + 2] = 0;
    return;
  }
  const t = Math.log2(count + 1) / 4;
  rgba[offset] = Math.round(127.5 * (1 + Math.cos(2 * Math.PI * t)));
  rgba[offset + 1] = Math.round(127.5 * (1 + Math.cos(2 * Math.PI * (t + 0.33))));
  rgba[offset + 2] = Math.round(127.5 * (1 + Math.cos(2 * Math.PI * (t + 0.67))));
}

/** A tile's iteration counts as RGBA pixels (row-major, like the counts). */
export function mandelbrotRgba(counts: Uint32Array, maxIterations: number): Uint8ClampedArray {
  const rgba = new Uint8ClampedArray(counts.length * 4);
  for (let i = 0; i < counts.length; i++) mandelbrotColour(counts[i]!, maxIterations, rgba, i * 4);
  return rgba;
}
