import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';

/** Serves the built pages on a free loopback port, cross-origin isolated as the coordinator serves them. */
export async function serveDist(): Promise<{ app: FastifyInstance; url: string }> {
  const root = resolve('dist');
  if (!existsSync(resolve(root, 'bench.html'))) throw new Error('dist/bench.html is missing: run `npm run build` first (npm run bench does).');
  const app = Fastify();
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-embedder-policy', 'require-corp');
  });
  await app.register(fastifyStatic, { root });
  // The baseline's prebuilt bundles and WASM binaries, straight from the installed package.
  await app.register(fastifyStatic, { root: resolve('node_modules/@tensorflow'), prefix: '/vendor/', decorateReply: false });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, url };
}
