import { fixture, html } from '@open-wc/testing/pure';
import { describe, expect, it } from 'vitest';
import { formatFixed, kOne } from '../kernels/fixed-point.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';
import './surge-mandelbrot-view.ts';
import type { SurgeMandelbrotView } from './surge-mandelbrot-view.ts';

const step = kOne / 64n;
function tile(column: number, row: number): MandelbrotParams {
  return {
    x0: formatFixed(-kOne + BigInt(column) * step),
    y0: formatFixed(BigInt(row) * step),
    step: formatFixed(step),
    width: 2,
    height: 2,
    maxIterations: 100,
  };
}

function pixels(view: SurgeMandelbrotView): { width: number; height: number; at(x: number, y: number): number[] } {
  const canvas = view.shadowRoot!.querySelector('canvas')!;
  const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  return { width: canvas.width, height: canvas.height, at: (x, y) => Array.from(data.slice((y * canvas.width + x) * 4, (y * canvas.width + x) * 4 + 4)) };
}

describe('<surge-mandelbrot-view>', () => {
  it('paints finished tiles where they belong, in the palette: counts at the limit black, the rest in colour', async () => {
    const view = await fixture<SurgeMandelbrotView>(html`<surge-mandelbrot-view></surge-mandelbrot-view>`);
    expect(view.shadowRoot!.textContent).toContain('The Mandelbrot tiles you compute appear here');
    // Counts 0, 100 (= maxIterations: in the set), 1, 15.
    view.addTile(7, 'Seahorse valley', tile(0, 0), Uint32Array.from([0, 100, 1, 15]));
    await view.updateComplete;
    let image = pixels(view);
    expect([image.width, image.height]).toEqual([2, 2]);
    expect(image.at(0, 0)).toEqual([255, 66, 66, 255]);
    expect(image.at(1, 0)).toEqual([0, 0, 0, 255]);
    expect(image.at(0, 1)).toEqual([128, 16, 239, 255]);
    expect(image.at(1, 1)).toEqual([255, 66, 66, 255]);
    const canvas = view.shadowRoot!.querySelector('canvas')!;
    expect(canvas.getAttribute('role')).toBe('img');
    expect(canvas.getAttribute('aria-label')).toBe('The Mandelbrot tiles you computed for “Seahorse valley”: 1 tile.');

    // The tile two pixels down and to the right: the picture grows, the gap stays blank.
    view.addTile(7, 'Seahorse valley', tile(2, 2), Uint32Array.from([100, 100, 100, 0]));
    await view.updateComplete;
    image = pixels(view);
    expect([image.width, image.height]).toEqual([4, 4]);
    expect(image.at(0, 0)).toEqual([255, 66, 66, 255]);
    expect(image.at(2, 2)).toEqual([0, 0, 0, 255]);
    expect(image.at(3, 3)).toEqual([255, 66, 66, 255]);
    expect(image.at(3, 0)).toEqual([0, 0, 0, 0]);
    expect(view.shadowRoot!.querySelector('figcaption')!.textContent).toBe('2 tiles of “Seahorse valley”');

    // A tile of another job starts a new picture.
    view.addTile(8, 'Elephant valley', tile(5, 5), Uint32Array.from([100, 0, 0, 0]));
    await view.updateComplete;
    image = pixels(view);
    expect([image.width, image.height]).toEqual([2, 2]);
    expect(image.at(0, 0)).toEqual([0, 0, 0, 255]);
    expect(view.shadowRoot!.querySelector('figcaption')!.textContent).toBe('1 tile of “Elephant valley”');
  });
});
