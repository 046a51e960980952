import { encode } from 'fast-png';
import { parseFixed } from '../src/kernels/fixed-point.ts';
import { mandelbrotColour } from '../src/kernels/mandelbrot-palette.ts';
import { errorCodes } from '../src/protocol/error-codes.ts';
import type { MandelbrotParams } from '../src/protocol/schemas.ts';
import type { MandelbrotJobParams } from './assimilator.ts';
import type { Db } from './db/database.ts';
import { HttpError } from './http-error.ts';

/** The preview's longer side, at most: a 16k-pixel job is previewed every 32nd pixel. */
export const kPreviewMaxSide = 512;

/**
 * A Mandelbrot job's picture so far as PNG, from the validated tiles in the database: tiles
 * not yet validated are transparent. Large jobs are sampled down (every n-th pixel) so the
 * preview stays small whatever the job's size.
 */
export async function mandelbrotPreview(db: Db, jobId: number): Promise<Uint8Array> {
  const job = await db.selectFrom('jobs').select(['kernel', 'params']).where('id', '=', jobId).executeTakeFirst();
  if (!job) throw new HttpError(404, errorCodes.jobUnknown, `No job ${jobId} exists here.`, 'id');
  if (job.kernel !== 'mandelbrot')
    throw new HttpError(404, errorCodes.previewUnavailable, `Job ${jobId} is a ${job.kernel} job: only Mandelbrot jobs have a picture.`, 'id');
  const params = JSON.parse(job.params) as MandelbrotJobParams;
  const scale = Math.ceil(Math.max(params.width, params.height) / kPreviewMaxSide);
  const width = Math.ceil(params.width / scale);
  const height = Math.ceil(params.height / scale);
  const rgba = new Uint8Array(width * height * 4);
  const step = parseFixed(params.step);
  const x0 = parseFixed(params.x0);
  const y0 = parseFixed(params.y0);
  const tiles = await db
    .selectFrom('unit_outputs')
    .innerJoin('units', 'units.id', 'unit_outputs.unit_id')
    .select(['units.params', 'unit_outputs.output'])
    .where('units.job_id', '=', jobId)
    .execute();
  for (const tile of tiles) {
    const unit = JSON.parse(tile.params) as MandelbrotParams;
    const bytes = new Uint8Array(tile.output);
    const counts = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const column0 = Number((parseFixed(unit.x0) - x0) / step);
    const row0 = Number((parseFixed(unit.y0) - y0) / step);
    for (let r = (scale - (row0 % scale)) % scale; r < unit.height; r += scale) {
      const row = (row0 + r) / scale;
      for (let c = (scale - (column0 % scale)) % scale; c < unit.width; c += scale) {
        mandelbrotColour(counts[r * unit.width + c]!, params.maxIterations, rgba, (row * width + (column0 + c) / scale) * 4);
      }
    }
  }
  return encode({ width, height, data: rgba, channels: 4, depth: 8 });
}
