import type { FastifyInstance } from 'fastify';

/**
 * CORS for the API: browsers on the listed origins (the embed's partner pages, a dashboard)
 * may call it; '*' allows any. A preflight (OPTIONS with Access-Control-Request-Method) is
 * answered here with 204; from an origin not listed it gets no CORS headers, so the browser
 * refuses the call. Requests without an Origin header (the CLI, other servers) are untouched.
 */
export function registerCors(app: FastifyInstance, origins: readonly string[]): void {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    const permitted = origin !== undefined && (any || allowed.has(origin));
    if (permitted) {
      reply.header('access-control-allow-origin', any ? '*' : origin);
      reply.header('access-control-expose-headers', 'retry-after');
    }
    reply.header('vary', 'origin');
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      if (permitted) {
        reply.header('access-control-allow-methods', 'GET, POST, OPTIONS');
        reply.header('access-control-allow-headers', 'content-type, authorization');
        reply.header('access-control-max-age', '600');
      }
      return reply.status(204).send();
    }
  });
}
