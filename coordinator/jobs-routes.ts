import { timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errorCodes } from '../src/protocol/error-codes.ts';
import { ErrorResponseSchema, type JobRequest, JobRequestSchema, type JobStatus, JobStatusSchema, KernelNameSchema } from '../src/protocol/schemas.ts';
import { readJobOutput, withdrawDeadlinesOfClosedJobs } from './assimilator.ts';
import { hashToken } from './config.ts';
import type { Db } from './db/database.ts';
import { HttpError } from './http-error.ts';
import { renderJobOutput } from './job-output.ts';
import { createMandelbrotJob, createMatmulJob, createPrimesJob, randomSeed } from './work-generator.ts';

/** How often a progress stream looks for news. */
const kEventIntervalMs = 1000;

const errors = { 400: ErrorResponseSchema, 401: ErrorResponseSchema, 403: ErrorResponseSchema, 404: ErrorResponseSchema, 409: ErrorResponseSchema };
/** Path parameters arrive as text (and Ajv does not coerce here): a job ID is digits. */
const JobIdParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,14}$', description: 'a job ID' }) });

export interface JobsRouteOptions {
  db: Db;
  /** SHA-256 of each requester token → requester name. */
  requesterTokens: Map<string, string>;
  now: () => number;
}

/**
 * First only the kernel is checked, then the body against that kernel's schema: a union
 * schema's errors would name the wrong branch, while this names the field that is wrong.
 */
const JobEnvelopeSchema = Type.Object({ kernel: KernelNameSchema }, { additionalProperties: true });

function checkJob(body: unknown): JobRequest {
  const kernel = (body as { kernel: string }).kernel;
  const schema = JobRequestSchema.anyOf.find((branch) => branch.properties.kernel.const === kernel);
  if (!schema) throw new HttpError(400, errorCodes.jobInvalid, `Jobs of kernel "${kernel}" cannot be submitted here yet.`, 'kernel');
  const error = Value.Errors(schema, body).First();
  if (error) {
    const field = error.path.replace(/^\//, '').replaceAll('/', '.');
    throw new HttpError(400, errorCodes.badRequest, `body.${field}: ${error.message}`, field);
  }
  return body as JobRequest;
}

/** The requester named by the request's bearer token, or a 401 that says what is missing. */
function requester(request: FastifyRequest, tokens: Map<string, string>): string {
  const header = request.headers.authorization ?? '';
  const match = /^Bearer (\S+)$/.exec(header);
  if (!match) throw new HttpError(401, errorCodes.unauthorized, 'Send a requester token as "Authorization: Bearer TOKEN".', 'authorization');
  const digest = Buffer.from(hashToken(match[1]!), 'hex');
  for (const [known, name] of tokens) {
    if (timingSafeEqual(Buffer.from(known, 'hex'), digest)) return name;
  }
  throw new HttpError(401, errorCodes.unauthorized, 'This requester token is not known to this coordinator.', 'authorization');
}

/** The work generator for a request; bad combinations (a tile past ±4, an output too big) become a 400. */
async function createJob(db: Db, body: JobRequest, name: string, now: number): Promise<number> {
  const common = { name: body.name, purpose: body.purpose, requester: name, ...(body.priority ? { priority: body.priority } : {}) };
  try {
    switch (body.kernel) {
      case 'matmul-f32':
        return await createMatmulJob(db, { ...common, ...body.params, seed: body.params.seed ?? randomSeed() }, now);
      case 'mandelbrot':
        return await createMandelbrotJob(db, { ...common, ...body.params }, now);
      case 'primes':
        if (body.params.lo >= body.params.hi) throw new Error('params.lo must be below params.hi');
        return await createPrimesJob(db, { ...common, ...body.params }, now);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, errorCodes.jobInvalid, `This job cannot be made: ${error instanceof Error ? error.message : String(error)}`, 'params');
  }
}

async function jobStatus(db: Db, id: number, name: string): Promise<JobStatus> {
  const job = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  if (!job) throw new HttpError(404, errorCodes.jobUnknown, `No job ${id} exists here.`, 'id');
  if (job.requester !== name) throw new HttpError(403, errorCodes.jobNotYours, `Job ${id} belongs to another requester.`, 'id');
  const failed = await db
    .selectFrom('units')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('job_id', '=', id)
    .where('state', '=', 'failed')
    .executeTakeFirstOrThrow();
  return {
    id: job.id,
    name: job.name,
    purpose: job.purpose,
    kernel: job.kernel as JobStatus['kernel'],
    status: job.status,
    ...(job.reason ? { reason: job.reason } : {}),
    priority: job.priority,
    units: { total: job.units_total, done: job.units_done, failed: Number(failed.count) },
    createdAt: new Date(Number(job.created_at)).toISOString(),
  };
}

/**
 * The requesters' API: submit a job, read its status and progress, download its assembled
 * output, cancel it. Every call needs a requester token; a requester sees only its own jobs.
 */
export async function registerJobRoutes(app: FastifyInstance, options: JobsRouteOptions): Promise<void> {
  const { db, requesterTokens, now } = options;

  app.post<{ Body: JobRequest }>('/v1/jobs', { schema: { body: JobEnvelopeSchema, response: { 201: JobStatusSchema, ...errors } } }, async (request, reply) => {
    const name = requester(request, requesterTokens);
    const id = await createJob(db, checkJob(request.body), name, now());
    return reply.status(201).send(await jobStatus(db, id, name));
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', { schema: { params: JobIdParams, response: { 200: JobStatusSchema, ...errors } } }, async (request) =>
    jobStatus(db, Number(request.params.id), requester(request, requesterTokens)),
  );

  app.get<{ Params: { id: string } }>('/v1/jobs/:id/output', { schema: { params: JobIdParams, response: errors } }, async (request, reply) => {
    const status = await jobStatus(db, Number(request.params.id), requester(request, requesterTokens));
    if (status.status !== 'done') {
      throw new HttpError(
        409,
        errorCodes.jobNotDone,
        `Job ${status.id} is ${status.status} (${status.units.done} of ${status.units.total} units done); its output exists once it is done.`,
        'id',
      );
    }
    const job = await db.selectFrom('jobs').select(['kernel', 'params']).where('id', '=', status.id).executeTakeFirstOrThrow();
    const rendered = renderJobOutput(status.kernel, JSON.parse(job.params), await readJobOutput(db, status.id));
    reply.headers(rendered.headers).type(rendered.contentType);
    return reply.send(typeof rendered.body === 'string' ? rendered.body : Buffer.from(rendered.body));
  });

  // A live progress stream (server-sent events): a `progress` event whenever the job's status
  // changes, checked every second, ending once the job is done, failed or cancelled.
  app.get<{ Params: { id: string } }>('/v1/jobs/:id/events', { schema: { params: JobIdParams, response: errors } }, async (request, reply) => {
    const name = requester(request, requesterTokens);
    const id = Number(request.params.id);
    await jobStatus(db, id, name);
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cross-origin-resource-policy': 'same-origin',
      'x-content-type-options': 'nosniff',
    });
    let last = '';
    let timer: ReturnType<typeof setInterval> | undefined;
    const send = async () => {
      const status = await jobStatus(db, id, name);
      const text = JSON.stringify(status);
      if (text !== last) reply.raw.write(`event: progress\ndata: ${text}\n\n`);
      last = text;
      if (status.status !== 'active' && status.status !== 'preparing') {
        clearInterval(timer);
        reply.raw.end();
      }
    };
    request.raw.on('close', () => clearInterval(timer));
    await send();
    if (!reply.raw.writableEnded) {
      timer = setInterval(() => {
        send().catch((error: unknown) => {
          request.log.error({ err: error }, 'job event stream failed');
          clearInterval(timer);
          reply.raw.end();
        });
      }, kEventIntervalMs);
    }
  });

  app.delete<{ Params: { id: string } }>(
    '/v1/jobs/:id',
    { schema: { params: JobIdParams, response: { 200: JobStatusSchema, ...errors } } },
    async (request) => {
      const name = requester(request, requesterTokens);
      const status = await jobStatus(db, Number(request.params.id), name);
      if (status.status === 'preparing')
        throw new HttpError(409, errorCodes.jobNotActive, `Job ${status.id} is still being made; cancel it once it is active.`, 'id');
      if (status.status !== 'active') throw new HttpError(409, errorCodes.jobNotActive, `Job ${status.id} is already ${status.status}.`, 'id');
      // Units of a cancelled job are never leased again (the feeder takes active jobs only).
      await db.updateTable('jobs').set({ status: 'cancelled' }).where('id', '=', status.id).where('status', '=', 'active').execute();
      await withdrawDeadlinesOfClosedJobs(db, [status.id]);
      return jobStatus(db, status.id, name);
    },
  );
}
