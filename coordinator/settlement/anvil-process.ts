import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

export interface AnvilProcess {
  rpcUrl: string;
  chainId: number;
  /** Stops anvil; safe to call twice. */
  stop(): Promise<void>;
}

export interface AnvilOptions {
  /** 0 (the default) lets anvil pick a free port. */
  port?: number;
  chainId?: number;
}

/** anvil's well-known development accounts (mnemonic "test test … junk"): never use them on a real chain. */
export const kAnvilAccountKeys = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
] as const;

/**
 * The anvil binary that `@foundry-rs/anvil` installs for this platform. Its `.bin/anvil` is a
 * Node wrapper that spawns the binary, and killing the wrapper can leave the binary running,
 * so the binary is started directly where it can be found.
 */
function anvilBinary(): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  try {
    return createRequire(import.meta.url).resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/anvil`);
  } catch {
    return resolve('node_modules', '.bin', 'anvil');
  }
}

/**
 * Starts a local anvil chain and resolves once it listens. anvil picks a free port (port 0)
 * and prints it; the chain lives in memory and is gone when it stops.
 *
 * @example
 * const anvil = await startAnvil();
 * // … createPublicClient({ transport: http(anvil.rpcUrl) }) …
 * await anvil.stop();
 */
export async function startAnvil(options: AnvilOptions = {}): Promise<AnvilProcess> {
  const chainId = options.chainId ?? 31337;
  const args = ['--host', '127.0.0.1', '--port', String(options.port ?? 0), '--chain-id', String(chainId)];
  // A watchdog shell holds anvil: when this process dies, even by SIGKILL, the shell reads
  // end-of-file on its stdin and stops anvil, so no chain outlives its coordinator. The shell
  // ignores SIGINT (Ctrl-C reaches the whole process group), leaving the stop to `stop()`.
  const child =
    process.platform === 'win32'
      ? spawn(anvilBinary(), args, { stdio: ['pipe', 'pipe', 'pipe'] })
      : spawn('sh', ['-c', 'trap "" INT; "$0" "$@" & anvil=$!; read -r _; kill $anvil; wait $anvil', anvilBinary(), ...args], {
          stdio: ['pipe', 'pipe', 'pipe'],
        });
  const rpcUrl = await new Promise<string>((resolveUrl, reject) => {
    let seen = '';
    const timer = setTimeout(() => fail(new Error(`anvil did not start within 20 s:\n${seen.slice(-2000)}`)), 20_000);
    function fail(error: Error) {
      clearTimeout(timer);
      child.stdin?.end();
      if (process.platform === 'win32') child.kill('SIGKILL');
      reject(error);
    }
    child.once('error', (error) => fail(new Error(`anvil could not be started (${anvilBinary()}): ${error.message}`)));
    child.once('exit', (code) => fail(new Error(`anvil exited with code ${code} before listening:\n${seen.slice(-2000)}`)));
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const listening = /Listening on ([\d.]+:\d+)/.exec(seen);
      if (listening) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolveUrl(`http://${listening[1]}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  // Keep draining its output so anvil never blocks on a full pipe.
  child.stdout.resume();
  child.stderr.resume();
  const stopOnExit = () => child.stdin?.end();
  process.once('exit', stopOnExit);
  return { rpcUrl, chainId, stop: () => stopProcess(child, stopOnExit) };
}

async function stopProcess(child: ChildProcess, stopOnExit: () => void): Promise<void> {
  process.removeListener('exit', stopOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  child.stdin?.end();
  if (process.platform === 'win32') child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}
