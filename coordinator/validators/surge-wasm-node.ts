import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SurgeWasmExports } from '../../src/worker/surge-wasm.ts';

/** The contributors' AssemblyScript module, plain SIMD (the same bytes everywhere), as `npm run build:wasm` writes it. */
const wasmPath = fileURLToPath(new URL('../../wasm/build/surge.wasm', import.meta.url));

let module: WebAssembly.Module | undefined;

/** Throws, naming the command that builds it, when surge.wasm is missing: the coordinator checks at start. */
export function assertSurgeWasmBuilt(): void {
  if (!existsSync(wasmPath)) throw new Error(`${wasmPath} is missing: run \`npm run build\` (or \`npm run build:wasm\`) before starting the coordinator.`);
}

/** A fresh instance of surge.wasm in Node: the validators run its Philox and its checks. */
export function instantiateSurgeWasmInNode(): SurgeWasmExports {
  if (!module) {
    assertSurgeWasmBuilt();
    module = new WebAssembly.Module(readFileSync(wasmPath));
  }
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort: () => {
        throw new Error('surge.wasm aborted');
      },
    },
  });
  return instance.exports as unknown as SurgeWasmExports;
}
