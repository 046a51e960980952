import { describe, expect, it } from 'vitest';
import { KernelError } from '../errors/kernel-error.ts';
import { decimalToFixed, fixedMul, fixedToDecimal, formatFixed, fromLimbs, kMagnitudeLimit, kOne, mandelbrotTile, parseFixed, toLimbs } from './fixed-point.ts';

const expectKernelError = (run: () => unknown, code: string, message: RegExp) => {
  const error = (() => {
    try {
      run();
    } catch (caught) {
      return caught;
    }
    return undefined;
  })();
  expect(error).toBeInstanceOf(KernelError);
  expect((error as KernelError).code).toBe(code);
  expect((error as KernelError).shortMessage).toMatch(message);
};

describe('Q4.92 hex strings', () => {
  it.each([
    ['0x0', 0n],
    ['-0x0', 0n],
    ['0x1', 1n],
    ['-0x1', -1n],
    [`0x1${'0'.repeat(23)}`, kOne],
    [`-0x4${'0'.repeat(23)}`, -4n * kOne],
    [`0x${'f'.repeat(24)}`, kMagnitudeLimit - 1n],
  ])('parses %s', (hex, raw) => {
    expect(parseFixed(hex)).toBe(raw);
  });

  it.each(['0x', '1', '0X1', '0xA', '+0x1', ` 0x1`, `0x1${'0'.repeat(24)}`])('refuses "%s", naming the parameter', (hex) => {
    expectKernelError(() => parseFixed(hex, 'x0'), 'SURGE_E_KERNEL_BAD_PARAMS', /x0/);
  });

  it('formats what it parses, zero without a sign', () => {
    for (const raw of [0n, 1n, -1n, kOne, -3n * kOne + 12345n, kMagnitudeLimit - 1n, 1n - kMagnitudeLimit]) {
      expect(parseFixed(formatFixed(raw))).toBe(raw);
    }
    expect(formatFixed(-0n)).toBe('0x0');
    expect(formatFixed(-kOne)).toBe(`-0x1${'0'.repeat(23)}`);
  });

  it('refuses to format a value of 16 or more in magnitude', () => {
    expectKernelError(() => formatFixed(kMagnitudeLimit, 'step'), 'SURGE_E_KERNEL_BAD_PARAMS', /step/);
    expectKernelError(() => formatFixed(-kMagnitudeLimit), 'SURGE_E_KERNEL_BAD_PARAMS', /16/);
  });
});

describe('limbs', () => {
  it.each([0n, 1n, 0xffff_ffffn, 1n << 32n, (1n << 64n) - 1n, 1n << 64n, kMagnitudeLimit - 1n, -1n, -(kMagnitudeLimit - 1n), -(1n << 64n)])(
    'round-trips %s',
    (raw) => {
      expect(fromLimbs(toLimbs(raw))).toBe(raw);
    },
  );

  it('puts the magnitude little-endian and the sign apart', () => {
    expect(toLimbs(-((3n << 64n) | (2n << 32n) | 1n))).toEqual({ limbs: [1, 2, 3], negative: true });
    expect(toLimbs(kMagnitudeLimit - 1n)).toEqual({ limbs: [0xffff_ffff, 0xffff_ffff, 0xffff_ffff], negative: false });
    expect(fromLimbs({ limbs: [0, 0, 0], negative: true })).toBe(0n);
  });

  it('refuses 96 bits and more', () => {
    expect(() => toLimbs(kMagnitudeLimit)).toThrow(RangeError);
    expect(() => toLimbs(-kMagnitudeLimit)).toThrow(RangeError);
  });
});

describe('mul', () => {
  it('is exact when the product fits', () => {
    expect(fixedMul(3n * (kOne / 2n), 3n * (kOne / 2n))).toBe((9n * kOne) / 4n);
    expect(fixedMul(-2n * kOne, 2n * kOne)).toBe(-4n * kOne);
  });

  it('truncates the magnitude, toward zero for either sign', () => {
    // (1 + 2⁻⁹²)² = 1 + 2·2⁻⁹² + 2⁻¹⁸⁴: the last term is cut.
    expect(fixedMul(kOne + 1n, kOne + 1n)).toBe(kOne + 2n);
    expect(fixedMul(-(kOne + 1n), kOne + 1n)).toBe(-(kOne + 2n));
    expect(fixedMul(kOne + 1n, -(kOne + 1n))).toBe(-(kOne + 2n));
    // 2⁻⁹² · 0.75 is below one raw unit: zero, with a positive sign.
    expect(fixedMul(1n, (3n * kOne) / 4n)).toBe(0n);
    expect(fixedMul(-1n, (3n * kOne) / 4n)).toBe(0n);
    expect(Object.is(Number(fixedMul(-1n, 1n)), 0)).toBe(true);
    // −3 raw × 1.5 = −4.5 raw: −4, not −5 (floor would give −5).
    expect(fixedMul(-3n, (3n * kOne) / 2n)).toBe(-4n);
  });

  it('handles the largest magnitudes', () => {
    const max = kMagnitudeLimit - 1n;
    expect(fixedMul(max, max)).toBe((max * max) >> 92n);
    expect(fixedMul(max, -max)).toBe(-((max * max) >> 92n));
  });
});

describe('decimals', () => {
  it.each([
    ['1', kOne],
    ['-2.5', (-5n * kOne) / 2n],
    ['0.5e1', 5n * kOne],
    ['.25', kOne / 4n],
    ['3.', 3n * kOne],
    ['-0', 0n],
    ['1e-24', 4952n], // 2⁹² / 10²⁴ = 4951.76…
    ['-1e-24', -4952n],
  ])('reads %s exactly', (decimal, raw) => {
    expect(decimalToFixed(decimal)).toBe(raw);
  });

  it('rounds ties away from zero', () => {
    // 2⁻⁹³ = 5⁹³ / 10⁹³: exactly half a raw unit.
    const half = `0.${(5n ** 93n).toString().padStart(93, '0')}`;
    expect(decimalToFixed(half)).toBe(1n);
    expect(decimalToFixed(`-${half}`)).toBe(-1n);
    expect(decimalToFixed(`${half}e-1`)).toBe(0n);
  });

  it.each(['', '.', 'e5', '1.2.3', '0x10', 'one'])('refuses "%s"', (decimal) => {
    expectKernelError(() => decimalToFixed(decimal), 'SURGE_E_KERNEL_BAD_PARAMS', /decimal/);
  });

  it('writes a raw value back as its exact decimal expansion', () => {
    expect(fixedToDecimal(decimalToFixed('-0.75'), 5)).toBe('-0.75000');
    expect(fixedToDecimal(3n * kOne, 0)).toBe('3');
    expect(fixedToDecimal(1n, 92)).toBe(`0.${(5n ** 92n).toString().padStart(92, '0')}`);
    const seahorse = '-0.743643887037158704752191506114774';
    expect(fixedToDecimal(decimalToFixed(seahorse), 27)).toBe(seahorse.slice(0, 30));
  });
});

describe('mandelbrotTile', () => {
  it('centres an odd tile exactly on its centre', () => {
    const params = mandelbrotTile({ centerX: '-0.75', centerY: '0.1', pixelSize: '0.01', width: 5, height: 3, maxIterations: 10 });
    const step = parseFixed(params.step);
    expect(step).toBe(decimalToFixed('0.01'));
    expect(parseFixed(params.x0) + 2n * step).toBe(decimalToFixed('-0.75'));
    expect(parseFixed(params.y0) + step).toBe(decimalToFixed('0.1'));
    expect(params).toMatchObject({ width: 5, height: 3, maxIterations: 10 });
  });

  it('takes raw values as they are', () => {
    const params = mandelbrotTile({ centerX: 0n, centerY: kOne, pixelSize: 7n, width: 4, height: 1, maxIterations: 1 });
    expect(params).toEqual({ x0: '-0xa', y0: formatFixed(kOne), step: '0x7', width: 4, height: 1, maxIterations: 1 });
  });

  it('refuses a pixel size below one raw unit', () => {
    expectKernelError(
      () => mandelbrotTile({ centerX: '0', centerY: '0', pixelSize: '1e-30', width: 1, height: 1, maxIterations: 1 }),
      'SURGE_E_KERNEL_BAD_PARAMS',
      /pixelSize/,
    );
    expectKernelError(
      () => mandelbrotTile({ centerX: '0', centerY: '0', pixelSize: 0n, width: 1, height: 1, maxIterations: 1 }),
      'SURGE_E_KERNEL_BAD_PARAMS',
      /pixelSize/,
    );
  });
});
