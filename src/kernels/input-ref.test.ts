import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KernelError } from '../errors/kernel-error.ts';
import { resolveInput } from './input-ref.ts';

const payload = new Uint8Array(Array.from({ length: 64 }, (_, i) => i * 3));
const sha256 = createHash('sha256').update(payload).digest('hex');
let server: Server;
let origin: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    if (request.url === '/input.bin') response.end(payload);
    else response.writeHead(404).end();
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((done) => server.close(done)));

async function failure(promise: Promise<unknown>): Promise<KernelError> {
  return (await promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error,
  )) as KernelError;
}

describe('data inputs', () => {
  it('decodes inline bytes', async () => {
    expect(Array.from(await resolveInput({ inline: Buffer.from(payload).toString('base64') }, 64, 'A'))).toEqual(Array.from(payload));
  });

  it('fetches bytes by URL and checks their SHA-256', async () => {
    expect(Array.from(await resolveInput({ url: `${origin}/input.bin`, sha256 }, 64, 'A'))).toEqual(Array.from(payload));
  });

  it('refuses bytes whose hash is not the one named, and says which', async () => {
    const error = await failure(resolveInput({ url: `${origin}/input.bin`, sha256: '0'.repeat(64) }, 64, 'matmul input A'));
    expect(error.code).toBe('SURGE_E_KERNEL_INPUT_HASH');
    expect(error.shortMessage).toContain(sha256);
  });

  it('reports a URL that cannot be read, and an input of the wrong size', async () => {
    expect((await failure(resolveInput({ url: `${origin}/missing.bin`, sha256 }, 64, 'A'))).code).toBe('SURGE_E_KERNEL_INPUT_FETCH');
    const error = await failure(resolveInput({ inline: Buffer.from(payload).toString('base64') }, 68, 'matmul input B'));
    expect(error.code).toBe('SURGE_E_KERNEL_INPUT_SIZE');
    expect(error.shortMessage).toMatch(/matmul input B: the input has 64 bytes; this unit needs 68/);
  });
});
