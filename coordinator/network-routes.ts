import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ErrorResponseSchema, NetworkStatsSchema } from '../src/protocol/schemas.ts';
import type { Db } from './db/database.ts';
import { mandelbrotPreview } from './mandelbrot-preview.ts';
import { networkStats } from './network-stats.ts';

const JobIdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: 'a job ID' }) });

/**
 * The public, read-only routes behind the network dashboard: `GET /v1/stats` and a
 * Mandelbrot job's picture so far, `GET /v1/jobs/:id/preview.png`. No token needed; they
 * show nothing a requester has not made public by submitting the job.
 */
export async function registerNetworkRoutes(app: FastifyInstance, options: { db: Db; now: () => number }): Promise<void> {
  const { db, now } = options;

  app.get('/v1/stats', { schema: { response: { 200: NetworkStatsSchema } } }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return networkStats(db, now());
  });

  app.get<{ Params: { id: string } }>(
    '/v1/jobs/:id/preview.png',
    { schema: { params: JobIdParams, response: { 400: ErrorResponseSchema, 404: ErrorResponseSchema } } },
    async (request, reply) => {
      const png = await mandelbrotPreview(db, Number(request.params.id));
      return reply.type('image/png').header('cache-control', 'no-cache').send(Buffer.from(png));
    },
  );
}
