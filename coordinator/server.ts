import { existsSync } from 'node:fs';
import rateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { PrivateKeyAccount } from 'viem';
import { getAddress } from 'viem';
import { kernelDefinitions } from '../src/kernels/registry.ts';
import { type ResultBatchRequest, ResultBatchRequestSchema, ResultBatchResponseSchema } from '../src/protocol/batch-schemas.ts';
import { errorCodes } from '../src/protocol/error-codes.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import {
  AddressSchema,
  Bytes32Schema,
  ErrorResponseSchema,
  InfoResponseSchema,
  type LeaseHeartbeatRequest,
  LeaseHeartbeatRequestSchema,
  LeaseHeartbeatResponseSchema,
  type LeaseRequest,
  LeaseRequestSchema,
  LeaseResponseSchema,
  OwnerCreditResponseSchema,
  type OwnerLinkRequest,
  OwnerLinkRequestSchema,
  OwnerLinkResponseSchema,
  type ResultRequest,
  ResultRequestSchema,
  ResultResponseSchema,
  type RevokeSessionRequest,
  RevokeSessionRequestSchema,
  RevokeSessionResponseSchema,
  type RewardsInfo,
  type SessionRequest,
  SessionRequestSchema,
  SessionResponseSchema,
} from '../src/protocol/schemas.ts';
import type { CoordinatorConfig } from './config.ts';
import { registerCors } from './cors.ts';
import { type Db, readerOf } from './db/database.ts';
import { runPrepared } from './db/run-prepared.ts';
import { embedHeaders } from './embed-headers.ts';
import { type LeaseOptions, leaseUnit, leaseUnits } from './feeder.ts';
import { HttpError } from './http-error.ts';
import { registerJobRoutes } from './jobs-routes.ts';
import { extendLease } from './lease-heartbeat.ts';
import { registerLeaseReleaseRoute } from './lease-release.ts';
import { leaseCreditCaps } from './lease-sizing.ts';
import { CoordinatorMetrics } from './metrics.ts';
import { registerNetworkRoutes } from './network-routes.ts';
import { linkOwner } from './owner-links.ts';
import { registerPartnerRoutes } from './partners.ts';
import { RequestLimiter } from './request-limiter.ts';
import { acceptResultBatch } from './result-batch-intake.ts';
import { acceptResult, ownerCredit } from './result-intake.ts';
import { activeSession, registerSession, revokeSession } from './sessions.ts';
import { registerRewardsRoutes } from './settlement/rewards-routes.ts';
import { SignatureVerifier } from './signature-verifier.ts';
import { trustConfig } from './trust-config.ts';
import { inlineValidator, type Validator } from './validators/validation-threads.ts';
import { ensureDemoWork } from './work-generator.ts';

export interface ServerDeps {
  config: CoordinatorConfig;
  db: Db;
  coordinator: PrivateKeyAccount;
  /** The clock; tests move it. */
  now?: () => number;
  /** Where rewards are paid; undefined when the coordinator pays none. */
  rewards?: RewardsInfo;
  /** Randomness for the feeder's draws and the validators' samples; tests fix it (and then validate on this thread). */
  random?: () => number;
  /** Where results are validated (main.ts starts validation threads); on this thread when unset. */
  validator?: Validator;
}

const errorResponses = {
  400: ErrorResponseSchema,
  401: ErrorResponseSchema,
  403: ErrorResponseSchema,
  404: ErrorResponseSchema,
  409: ErrorResponseSchema,
  410: ErrorResponseSchema,
  413: ErrorResponseSchema,
  422: ErrorResponseSchema,
};

/** How long a client waits before asking again when there is no work. */
const kNoWorkRetryMs = 5000;

/** Turns Fastify's validation message ("body/receipt/owner must match …") into a field path. */
function fieldOf(error: FastifyError): string | undefined {
  const first = error.validation?.[0];
  if (!first) return undefined;
  const path = first.instancePath.replace(/^\//, '').replaceAll('/', '.');
  const missing = (first.params as { missingProperty?: string }).missingProperty;
  const extra = (first.params as { additionalProperty?: string }).additionalProperty;
  return [path, missing ?? extra].filter(Boolean).join('.') || undefined;
}

/**
 * The coordinator's HTTP service: the `/v1` API and the built contributor page, with the
 * headers cross-origin isolation needs (COOP/COEP) so the page may use SharedArrayBuffer.
 */
export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, db, coordinator } = deps;
  const now = deps.now ?? Date.now;
  const rewards: RewardsInfo | undefined = deps.rewards && {
    chainId: deps.rewards.chainId,
    rpcUrl: deps.rewards.rpcUrl,
    distributor: deps.rewards.distributor,
    token: deps.rewards.token,
    epochSeconds: deps.rewards.epochSeconds,
  };
  const domain: ReceiptDomain = { name: 'Surge', version: '1', chainId: config.chainId, verifyingContract: config.verifyingContract };
  // Contract wallets need a chain to check grants: the configured one, else the local rewards chain.
  const validator = deps.random ? inlineValidator(deps.random) : (deps.validator ?? inlineValidator());
  const verifier = new SignatureVerifier(config.rpcUrl ?? deps.rewards?.rpcUrl);

  const metrics = new CoordinatorMetrics();
  const trust = trustConfig(config.trust);
  const sessionLimit = new RequestLimiter(config.sessionRateLimitPerMinute ?? 0, 'session');
  const ownerLimit = new RequestLimiter(config.ownerRateLimitPerMinute ?? 0, 'owner');
  /** Counts a request against its session's and owner's limits (429 with Retry-After past either). */
  const limit = (reply: { header(name: string, value: string): unknown }, session: string, owner: string) => {
    const retryAfter = (seconds: number) => reply.header('retry-after', String(seconds));
    sessionLimit.take(session, now(), retryAfter);
    ownerLimit.take(owner, now(), retryAfter);
  };
  const app = Fastify({
    // Graceful shutdown: close() stops accepting, lets requests in flight finish, and drops idle keep-alive sockets.
    forceCloseConnections: 'idle',
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    bodyLimit: config.bodyLimitBytes,
    // Reject what the schema does not name instead of silently dropping it, and never coerce.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: false } },
  });

  // Requests per minute per address; a client over it gets 429 and Retry-After (the page's
  // outbox backs off). /metrics and the health checks are exempt.
  await app.register(rateLimit, {
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    allowList: (request) => request.url === '/metrics' || request.url === '/healthz' || request.url === '/readyz',
    errorResponseBuilder: (_request, context) => ({
      statusCode: 429,
      error: {
        code: errorCodes.rateLimited,
        message: `Too many requests from this address: the limit is ${context.max} a minute; try again in ${context.after}.`,
      },
    }),
  });

  registerCors(app, config.corsOrigins ?? []);

  app.addHook('onResponse', async (request, reply) => {
    metrics.requestSeconds.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  // The API speaks JSON only: anything else is refused with 415 rather than parsed as text.
  app.removeContentTypeParser('text/plain');

  app.addHook('onSend', async (request, reply) => {
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-embedder-policy', 'require-corp');
    reply.header('cross-origin-resource-policy', 'same-origin');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    // embed.js and the widget page are for partner pages on other origins.
    reply.headers(embedHeaders(request.url.split('?')[0]!, config.frameAncestors) ?? {});
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HttpError) {
      return reply.status(error.status).send({ error: { code: error.code, message: error.shortMessage, ...(error.field ? { field: error.field } : {}) } });
    }
    if (error.validation) {
      const field = fieldOf(error);
      const message = `${error.validationContext ?? 'request'}${field ? `.${field}` : ''}: ${error.validation[0]?.message ?? 'is invalid'}`;
      return reply.status(400).send({ error: { code: errorCodes.badRequest, message, ...(field ? { field } : {}) } });
    }
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return reply.status(413).send({ error: { code: errorCodes.bodyTooLarge, message: `The request body is larger than ${config.bodyLimitBytes} bytes.` } });
    }
    if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      return reply.status(415).send({ error: { code: errorCodes.unsupportedMediaType, message: 'Send the request body as application/json.' } });
    }
    if (error.statusCode === 429) return reply.status(429).send({ error: (error as unknown as { error: unknown }).error });
    if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
      return reply.status(error.statusCode).send({ error: { code: errorCodes.badRequest, message: error.message } });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.status(500).send({ error: { code: errorCodes.internal, message: 'The coordinator failed to handle this request; it has been logged.' } });
  });

  app.get('/v1/info', { schema: { response: { 200: InfoResponseSchema } } }, async () => ({
    name: 'Surge coordinator',
    version: '0.1.0',
    coordinator: coordinator.address,
    domain,
    kernels: Object.values(kernelDefinitions)
      .filter((kernel) => kernel.version > 0)
      .map((kernel) => ({ name: kernel.name, version: kernel.version, backends: ['webgpu', 'wasm'] })),
    rewards: rewards ?? null,
  }));

  app.post<{ Body: SessionRequest }>(
    '/v1/sessions',
    { schema: { body: SessionRequestSchema, response: { 200: SessionResponseSchema, ...errorResponses } } },
    async (request) => registerSession(db, request.body, { host: request.host, chainId: config.chainId, now: now(), verifier }),
  );

  app.post<{ Params: { address: string }; Body: RevokeSessionRequest }>(
    '/v1/sessions/:address/revoke',
    {
      schema: {
        params: Type.Object({ address: AddressSchema }),
        body: RevokeSessionRequestSchema,
        response: { 200: RevokeSessionResponseSchema, ...errorResponses },
      },
    },
    async (request) => revokeSession(db, request.params.address, request.body, { host: request.host, chainId: config.chainId, now: now(), verifier }),
  );

  app.post<{ Params: { owner: string }; Body: OwnerLinkRequest }>(
    '/v1/owners/:owner/link',
    {
      schema: {
        params: Type.Object({ owner: AddressSchema }),
        body: OwnerLinkRequestSchema,
        response: { 200: OwnerLinkResponseSchema, ...errorResponses },
      },
    },
    async (request) => linkOwner(db, request.params.owner, request.body, { host: request.host, chainId: config.chainId, now: now(), verifier }),
  );

  /** Batched leases (`count`): every unit in one transaction, the first also as `lease`. */
  const leaseBatch = async (count: number, options: LeaseOptions) => {
    let outcome = await leaseUnits(db, options, count);
    if (outcome.leases.length === 0 && outcome.retryAfterMs === undefined && config.demo) {
      await ensureDemoWork(db, config.demo);
      outcome = await leaseUnits(db, options, count);
    }
    const perKernel = new Map<string, number>();
    for (const lease of outcome.leases) perKernel.set(lease.kernel, (perKernel.get(lease.kernel) ?? 0) + 1);
    for (const [kernel, leases] of perKernel) metrics.leases.inc({ kernel }, leases);
    if (outcome.leases.length === 0) metrics.noWork.inc();
    const retryAfterMs = outcome.leases.length > 0 ? 0 : (outcome.retryAfterMs ?? kNoWorkRetryMs);
    return { lease: outcome.leases[0] ?? null, retryAfterMs, leases: outcome.leases };
  };

  app.post<{ Body: LeaseRequest }>(
    '/v1/leases',
    { schema: { body: LeaseRequestSchema, response: { 200: LeaseResponseSchema, ...errorResponses } } },
    async (request, reply) => {
      const at = now();
      const session = await activeSession(readerOf(db), request.body.session, at);
      limit(reply, session.address, session.owner);
      const creditCaps = request.body.speeds && leaseCreditCaps(request.body.speeds, config.leaseMs);
      const options: LeaseOptions = {
        session: session.address,
        owner: session.owner,
        address: request.ip,
        now: at,
        leaseMs: config.leaseMs,
        kernels: request.body.kernels,
        creditCaps,
        trust,
        ...(deps.random ? { random: deps.random } : {}),
      };
      // The leases are built by the feeder from the database's rows, so they fit the schema by
      // construction: plain JSON.stringify rather than the schema's serializer, which tries each
      // lease against every kernel's branch of the union, date-time format included (half the
      // cost of answering a batch of 32). A test checks the answers against the schema.
      reply.serializer(JSON.stringify);
      if (request.body.count !== undefined) return leaseBatch(request.body.count, options);
      const ask = () => leaseUnit(db, options);
      let outcome = await ask();
      if (!outcome.lease && outcome.retryAfterMs === undefined && config.demo) {
        await ensureDemoWork(db, config.demo);
        outcome = await ask();
      }
      const { lease } = outcome;
      if (lease) metrics.leases.inc({ kernel: lease.kernel });
      else metrics.noWork.inc();
      return { lease: lease ?? null, retryAfterMs: lease ? 0 : (outcome.retryAfterMs ?? kNoWorkRetryMs) };
    },
  );

  app.post<{ Params: { id: string }; Body: LeaseHeartbeatRequest }>(
    '/v1/leases/:id/heartbeat',
    {
      schema: {
        params: Type.Object({ id: Bytes32Schema }),
        body: LeaseHeartbeatRequestSchema,
        response: { 200: LeaseHeartbeatResponseSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const session = await activeSession(db, request.body.session, now());
      limit(reply, session.address, session.owner);
      return extendLease(db, {
        lease: request.params.id,
        session: session.address,
        now: now(),
        leaseMs: config.leaseMs,
        maxExtensions: trust.maxLeaseExtensions,
      });
    },
  );

  registerLeaseReleaseRoute(app, { db, now });

  app.post<{ Body: ResultRequest }>(
    '/v1/results',
    { schema: { body: ResultRequestSchema, response: { 200: ResultResponseSchema, ...errorResponses } } },
    async (request, reply) => {
      // Counted against the session and owner the lease was issued to, not what the body claims.
      const reader = readerOf(db);
      const [holder] = (
        await runPrepared(reader, 'lease-holder', { id: request.body.lease.toLowerCase() }, (values) =>
          reader.selectFrom('leases').select(['session', 'owner']).where('id', '=', values.id),
        )
      ).rows;
      if (holder) limit(reply, holder.session, holder.owner);
      return acceptResult(request.body, { db, domain, coordinator, metrics, now: now(), trust, validator });
    },
  );

  app.post<{ Body: ResultBatchRequest }>(
    '/v1/results/batch',
    { schema: { body: ResultBatchRequestSchema, response: { 200: ResultBatchResponseSchema, ...errorResponses } } },
    async (request, reply) => {
      // One request against the signing session's limits; the batch is refused whole if it is not that session's.
      const reader = readerOf(db);
      const [holder] = (
        await runPrepared(reader, 'session-holder', { address: request.body.receipt.session.toLowerCase() }, (values) =>
          reader.selectFrom('sessions').select(['address', 'owner']).where('address', '=', values.address),
        )
      ).rows;
      if (holder) limit(reply, holder.address, holder.owner);
      return acceptResultBatch(request.body, { db, domain, coordinator, metrics, now: now(), trust, validator });
    },
  );

  app.get<{ Params: { owner: string } }>(
    '/v1/owners/:owner',
    { schema: { params: Type.Object({ owner: AddressSchema }), response: { 200: OwnerCreditResponseSchema, ...errorResponses } } },
    async (request) => ({ owner: getAddress(request.params.owner), ...(await ownerCredit(db, request.params.owner)) }),
  );

  await registerJobRoutes(app, { db, requesterTokens: config.requesterTokens, now });
  await registerPartnerRoutes(app, db);
  await registerRewardsRoutes(app, { db, rewards, now });
  await registerNetworkRoutes(app, { db, now });

  app.get('/healthz', async () => ({ ok: true }));

  // Ready when the database answers: a load balancer sends no traffic to a process that cannot reach it.
  app.get('/readyz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(db);
      return { ready: true };
    } catch (error) {
      return reply
        .status(503)
        .send({ error: { code: errorCodes.notReady, message: `The database does not answer: ${error instanceof Error ? error.message : String(error)}` } });
    }
  });

  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  if (config.staticDir && existsSync(config.staticDir)) {
    await app.register(fastifyStatic, { root: config.staticDir, index: 'index.html' });
  } else {
    app.get('/', async (_request, reply) =>
      reply.status(503).type('text/plain').send('The contributor page is not built: run `npm run build` (npm start does it for you).'),
    );
  }

  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: errorCodes.notFound, message: `Nothing is served at ${request.method} ${request.url}.` } }),
  );

  return app;
}
