import { KernelError } from '../errors/kernel-error.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';

/**
 * Q4.92 fixed point, the number format of the mandelbrot kernel, and the one definition of
 * its arithmetic that every implementation follows bit for bit (this file in BigInt,
 * wasm/mandelbrot.ts in u64 limbs, shaders/mandelbrot.wgsl in 16-bit limbs). Deep zooms
 * need it: below a pixel size of about 2⁻⁵⁰ neighbouring pixels have the same f64
 * coordinates, and floating point would also round differently on different devices,
 * where the coordinator needs the same bytes from all of them.
 *
 * Numbers are sign-magnitude: a magnitude that is an unsigned 96-bit integer (three u32
 * limbs) and a sign; the value is ±magnitude / 2⁹². Zero has a positive sign. Here a
 * number is held as its raw signed integer (value × 2⁹²) in a BigInt, which is the same
 * thing.
 *
 * - add and sub are exact.
 * - mul(a, b) = sign(a)·sign(b) · floor(|a|·|b| / 2⁹²): the exact product of the
 *   magnitudes, truncated toward zero (see {@link fixedMul}).
 *
 * The escape count of c = (cx, cy), for a limit of maxIterations:
 *
 * ```
 * x = 0, y = 0, i = 0
 * while i < maxIterations:
 *   if |x| > 2 or |y| > 2: break        # implies x² + y² > 4, and keeps the products small
 *   x2 = mul(x, x); y2 = mul(y, y)
 *   if x2 + y2 > 4: break
 *   xy = mul(x, y)
 *   x = x2 − y2 + cx
 *   y = 2·xy + cy                        # exact: a shift
 *   i = i + 1
 * output i
 * ```
 *
 * With |cx|, |cy| ≤ 4 every intermediate stays below 16 in magnitude, inside 96 bits:
 * |x|, |y| ≤ 2 at each product, so x2, y2 ≤ 4, x2 + y2 ≤ 8, |xy| ≤ 4 and the new
 * |x|, |y| ≤ 12. `assertMandelbrotFits` (mandelbrot.ts) holds every pixel of a tile to
 * |c| ≤ 4.
 */
export const kFractionBits = 92n;
/** The raw value of 1. */
export const kOne = 1n << kFractionBits;
/** Magnitudes are below 2⁹⁶: 24 hex digits, as the wire format allows. */
export const kMagnitudeLimit = 1n << 96n;

const kHexPattern = /^(-?)0x([0-9a-f]{1,24})$/;

/** The raw value of a wire-format number (`-0x1` is −2⁻⁹²); `name` is for the error message. */
export function parseFixed(hex: string, name = 'value'): bigint {
  const match = kHexPattern.exec(hex);
  if (!match) {
    throw new KernelError(
      'SURGE_E_KERNEL_BAD_PARAMS',
      `mandelbrot: ${name} "${hex}" is not a Q4.92 number (its raw value in lowercase hex; −1 is "-0x1${'0'.repeat(23)}").`,
    );
  }
  const magnitude = BigInt(`0x${match[2]}`);
  return match[1] === '-' ? -magnitude : magnitude;
}

/** The wire format of a raw value: lowercase hex, a minus sign when negative, zero as "0x0". */
export function formatFixed(raw: bigint, name = 'value'): string {
  const magnitude = raw < 0n ? -raw : raw;
  if (magnitude >= kMagnitudeLimit) throw new KernelError('SURGE_E_KERNEL_BAD_PARAMS', `mandelbrot: ${name} is 16 or more in magnitude, outside Q4.92.`);
  return `${raw < 0n ? '-' : ''}0x${magnitude.toString(16)}`;
}

/** Sign-magnitude limbs, as the WASM and WGSL kernels read them: magnitude little-endian in three u32. */
export interface FixedLimbs {
  limbs: [number, number, number];
  negative: boolean;
}

export function toLimbs(raw: bigint): FixedLimbs {
  const magnitude = raw < 0n ? -raw : raw;
  if (magnitude >= kMagnitudeLimit) throw new RangeError(`toLimbs: ${raw} does not fit 96 bits`);
  const limb = (shift: bigint) => Number((magnitude >> shift) & 0xffff_ffffn);
  return { limbs: [limb(0n), limb(32n), limb(64n)], negative: raw < 0n };
}

export function fromLimbs({ limbs: [l0, l1, l2], negative }: FixedLimbs): bigint {
  const magnitude = BigInt(l0 >>> 0) | (BigInt(l1 >>> 0) << 32n) | (BigInt(l2 >>> 0) << 64n);
  return negative ? -magnitude : magnitude;
}

/**
 * mul(a, b) = sign(a)·sign(b)·floor(|a|·|b| / 2⁹²). BigInt division truncates toward zero
 * (ECMA-262 §6.1.6.2.5, BigInt::divide), which is exactly that.
 */
export function fixedMul(a: bigint, b: bigint): bigint {
  return (a * b) / kOne;
}

const kDecimalPattern = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * The raw value nearest a decimal number (ties away from zero), exactly, without going
 * through f64: `decimalToFixed('-0.743643887037158704752191506114774')`, `decimalToFixed('1e-25')`.
 */
export function decimalToFixed(decimal: string): bigint {
  const match = kDecimalPattern.exec(decimal.trim());
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match ?? [];
  if (!match || whole.length + fraction.length === 0) throw new KernelError('SURGE_E_KERNEL_BAD_PARAMS', `mandelbrot: "${decimal}" is not a decimal number.`);
  const digits = BigInt(`${whole}${fraction}` || '0');
  const scale = Number(exponent) - fraction.length;
  let magnitude: bigint;
  if (scale >= 0) {
    magnitude = digits * 10n ** BigInt(scale) * kOne;
  } else {
    const denominator = 10n ** BigInt(-scale);
    magnitude = (2n * digits * kOne + denominator) / (2n * denominator);
  }
  return sign === '-' ? -magnitude : magnitude;
}

/** The exact decimal expansion of a raw value, cut (not rounded) after `digits` fractional digits. */
export function fixedToDecimal(raw: bigint, digits = 30): string {
  const magnitude = raw < 0n ? -raw : raw;
  const whole = magnitude >> kFractionBits;
  const fraction = ((magnitude & (kOne - 1n)) * 10n ** BigInt(digits)) >> kFractionBits;
  const text = digits > 0 ? `${whole}.${fraction.toString().padStart(digits, '0')}` : `${whole}`;
  return raw < 0n ? `-${text}` : text;
}

/** A coordinate given as a decimal string or as a raw value. */
export type FixedInput = string | bigint;

const toRaw = (value: FixedInput) => (typeof value === 'bigint' ? value : decimalToFixed(value));

export interface MandelbrotTileRequest {
  centerX: FixedInput;
  centerY: FixedInput;
  /** The distance between neighbouring pixels; at least 2⁻⁹² (raw 1). */
  pixelSize: FixedInput;
  width: number;
  height: number;
  maxIterations: number;
}

/**
 * The parameters of a width × height tile centred on (centerX, centerY): pixel (i, j) is at
 * (x0 + i·step, y0 + j·step), with x0 = centerX − ⌊(width − 1)·step / 2⌋ in raw units (so
 * the centre is exact for odd sizes and half a raw unit off for even ones). Check the result
 * with `assertMandelbrotFits`: this only builds it.
 *
 * @example
 * mandelbrotTile({ centerX: '-0.743643887037158704752191506114774', centerY: '0.131825904205311970493132056385139',
 *   pixelSize: 2n ** 17n, width: 64, height: 64, maxIterations: 20_000 }) // a tile 2⁻⁶⁹ wide
 */
export function mandelbrotTile({ centerX, centerY, pixelSize, width, height, maxIterations }: MandelbrotTileRequest): MandelbrotParams {
  const step = toRaw(pixelSize);
  if (step <= 0n) throw new KernelError('SURGE_E_KERNEL_BAD_PARAMS', 'mandelbrot: pixelSize must be at least 2⁻⁹² (raw 1).');
  const x0 = toRaw(centerX) - (BigInt(width - 1) * step) / 2n;
  const y0 = toRaw(centerY) - (BigInt(height - 1) * step) / 2n;
  return { x0: formatFixed(x0, 'x0'), y0: formatFixed(y0, 'y0'), step: formatFixed(step, 'step'), width, height, maxIterations };
}
