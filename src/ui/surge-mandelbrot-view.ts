import { css, html, LitElement, type PropertyValues } from 'lit';
import { customElement, query, state } from 'lit/decorators.js';
import { parseFixed } from '../kernels/fixed-point.ts';
import { mandelbrotRgba } from '../kernels/mandelbrot-palette.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';

interface PlacedTile {
  column: number;
  row: number;
  image: ImageData;
}

/** Tiles kept for the picture; the oldest go first. */
const kMaxTiles = 64;
/** A picture wider or taller than this starts over from the newest tile, so memory stays small. */
const kMaxSide = 2048;

/**
 * The Mandelbrot tiles this visitor computed, drawn where they belong in their job's picture
 * as they finish, in the same palette as the coordinator's output. Tiles of one job share a
 * grid (same step, offsets that are whole pixels apart); a tile of another job starts a new
 * picture.
 *
 * @example
 * controller.addEventListener('output', ({ detail }) => {
 *   if (detail.spec.kernel === 'mandelbrot') view.addTile(detail.jobId, detail.jobName, detail.spec.params, counts(detail.output));
 * });
 */
@customElement('surge-mandelbrot-view')
export class SurgeMandelbrotView extends LitElement {
  @state() private tileCount = 0;
  @state() private jobName = '';
  @query('canvas') private canvas?: HTMLCanvasElement;
  private jobId: number | undefined;
  private origin: { x: bigint; y: bigint; step: bigint } | undefined;
  private tiles: PlacedTile[] = [];

  static override styles = css`
    :host { display: block; }
    figure { margin: 0; }
    figcaption { margin-bottom: 0.5rem; }
    canvas { display: block; max-width: 100%; width: min(100%, 24rem); height: auto; image-rendering: pixelated; background: var(--surge-surface, #f3f4f6); border-radius: 0.25rem; }
    p { color: var(--surge-muted, #4b5563); margin: 0; }
  `;

  /** Adds a finished tile (its iteration counts, row-major) and redraws the picture. */
  addTile(jobId: number, jobName: string, params: MandelbrotParams, counts: Uint32Array): void {
    const step = parseFixed(params.step);
    if (jobId !== this.jobId || !this.origin || this.origin.step !== step) {
      this.jobId = jobId;
      this.tiles = [];
      this.origin = { x: parseFixed(params.x0), y: parseFixed(params.y0), step };
    }
    const column = Number((parseFixed(params.x0) - this.origin.x) / step);
    const row = Number((parseFixed(params.y0) - this.origin.y) / step);
    const image = new ImageData(mandelbrotRgba(counts, params.maxIterations) as Uint8ClampedArray<ArrayBuffer>, params.width, params.height);
    this.tiles = [...this.tiles.filter((t) => t.column !== column || t.row !== row), { column, row, image }].slice(-kMaxTiles);
    const { width, height } = this.bounds();
    if (width > kMaxSide || height > kMaxSide) {
      this.origin = { x: parseFixed(params.x0), y: parseFixed(params.y0), step };
      this.tiles = [{ column: 0, row: 0, image }];
    }
    this.jobName = jobName;
    this.tileCount = this.tiles.length;
    this.requestUpdate();
  }

  private bounds() {
    const left = Math.min(...this.tiles.map((t) => t.column));
    const top = Math.min(...this.tiles.map((t) => t.row));
    const right = Math.max(...this.tiles.map((t) => t.column + t.image.width));
    const bottom = Math.max(...this.tiles.map((t) => t.row + t.image.height));
    return { left, top, width: right - left, height: bottom - top };
  }

  override render() {
    if (this.tileCount === 0) return html`<p>The Mandelbrot tiles you compute appear here as they finish.</p>`;
    const description = `The Mandelbrot tiles you computed for “${this.jobName}”: ${this.tileCount} ${this.tileCount === 1 ? 'tile' : 'tiles'}.`;
    return html`
      <figure>
        <figcaption>${this.tileCount} ${this.tileCount === 1 ? 'tile' : 'tiles'} of “${this.jobName}”</figcaption>
        <canvas role="img" aria-label=${description}></canvas>
      </figure>
    `;
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    const canvas = this.canvas;
    if (!canvas || this.tiles.length === 0) return;
    const { left, top, width, height } = this.bounds();
    if (canvas.width !== width) canvas.width = width;
    if (canvas.height !== height) canvas.height = height;
    const context = canvas.getContext('2d')!;
    context.clearRect(0, 0, width, height);
    for (const tile of this.tiles) context.putImageData(tile.image, tile.column - left, tile.row - top);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-mandelbrot-view': SurgeMandelbrotView;
  }
}
