import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ErrorResponse, JobStatus } from '../../src/protocol/schemas.ts';

const usage = `Usage: surge job <command> [options]

Commands:
  submit FILE       submit the job described by FILE (JSON; - for standard input)
  status ID         print a job's status and progress
  output ID         download a finished job's output (--out FILE, else standard output)
  cancel ID         cancel a job

Options:
  --coordinator URL   default $SURGE_COORDINATOR or http://127.0.0.1:8080
  --token TOKEN       requester token; default $SURGE_TOKEN or ./data/requester.token
  --out FILE          where \`output\` writes
  --json              print status as JSON

A job file names a kernel and its parameters, for example:
  {"name": "Seahorse valley", "purpose": "a deep-zoom picture", "kernel": "mandelbrot",
   "params": {"centerX": "-0.7436438870371587", "centerY": "0.1318259042053119",
              "pixelSize": "0.0000000001", "width": 512, "height": 512, "maxIterations": 4000, "tile": 128}}
`;

class CliError extends Error {}

function token(given: string | undefined): string {
  const value =
    given ??
    process.env.SURGE_TOKEN ??
    (existsSync(resolve('data/requester.token')) ? readFileSync(resolve('data/requester.token'), 'utf8').trim() : undefined);
  if (!value) throw new CliError('No requester token: pass --token, set SURGE_TOKEN, or run from the folder where `npm start` made data/requester.token.');
  return value;
}

async function call(base: string, auth: string, method: string, path: string, body?: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(new URL(path, base), {
      method,
      headers: { authorization: `Bearer ${auth}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body } : {}),
    });
  } catch (cause) {
    throw new CliError(`The coordinator at ${base} could not be reached (${cause instanceof Error ? cause.message : String(cause)}).`);
  }
  if (!response.ok) {
    const answer = (await response.json().catch(() => undefined)) as ErrorResponse | undefined;
    throw new CliError(answer ? `${answer.error.message} (${answer.error.code})` : `HTTP ${response.status} from ${method} ${path}`);
  }
  return response;
}

function describe(job: JobStatus): string {
  const { done, total, failed } = job.units;
  const percent = total ? Math.floor((100 * done) / total) : 0;
  return `job ${job.id} "${job.name}" (${job.kernel}): ${job.status}, ${done}/${total} units (${percent}%)${failed ? `, ${failed} failed` : ''}${job.reason ? ` — ${job.reason}` : ''}`;
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        coordinator: { type: 'string' },
        token: { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    });
    const [group, command, argument] = positionals;
    if (values.help || group !== 'job' || !command) {
      process.stdout.write(usage);
      return values.help ? 0 : 2;
    }
    const base = values.coordinator ?? process.env.SURGE_COORDINATOR ?? 'http://127.0.0.1:8080';
    const auth = token(values.token);
    const print = (job: JobStatus) => console.log(values.json ? JSON.stringify(job) : describe(job));
    if (!argument) throw new CliError(`\`surge job ${command}\` needs ${command === 'submit' ? 'a job file' : 'a job ID'}.`);
    switch (command) {
      case 'submit': {
        const text = argument === '-' ? readFileSync(0, 'utf8') : readFileSync(argument, 'utf8');
        print((await (await call(base, auth, 'POST', '/v1/jobs', text)).json()) as JobStatus);
        return 0;
      }
      case 'status':
        print((await (await call(base, auth, 'GET', `/v1/jobs/${argument}`)).json()) as JobStatus);
        return 0;
      case 'cancel':
        print((await (await call(base, auth, 'DELETE', `/v1/jobs/${argument}`)).json()) as JobStatus);
        return 0;
      case 'output': {
        const bytes = new Uint8Array(await (await call(base, auth, 'GET', `/v1/jobs/${argument}/output`)).arrayBuffer());
        if (values.out) {
          writeFileSync(values.out, bytes);
          console.error(`wrote ${bytes.byteLength} bytes to ${values.out}`);
        } else {
          process.stdout.write(bytes);
        }
        return 0;
      }
      default:
        throw new CliError(`Unknown command "${command}".\n\n${usage}`);
    }
  } catch (error) {
    if (error instanceof CliError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_'))) {
      console.error(`surge: ${error.message}`);
      return 1;
    }
    throw error;
  }
}
