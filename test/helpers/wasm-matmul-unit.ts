import { matmulStreams } from '../../src/kernels/matmul.ts';
import { seedToKey } from '../../src/kernels/philox.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';
import type { SurgeWasmExports } from '../../src/worker/surge-wasm.ts';

/**
 * A seeded matmul-f32 unit as a contributor's WebAssembly worker computes it, in a fresh
 * instance of surge.wasm: inputs from the seed, B packed, every row of C. For Node, where
 * `WasmMatmulRun` (which loads the module by URL) cannot run under tsx.
 */
export function computeSeededMatmulF32(wasm: SurgeWasmExports, params: MatmulParams): Float32Array {
  const { m, n, k } = params;
  const [key0, key1] = seedToKey(params.seed);
  const a = wasm.alloc(m * k * 4);
  const b = wasm.alloc(k * n * 4);
  const packed = wasm.alloc(wasm.matmulPackedBytes(n, k));
  const scratch = wasm.alloc(wasm.matmulScratchBytes());
  const c = wasm.alloc(m * n * 4);
  wasm.philoxFill(a, key0, key1, matmulStreams.a, params.rowOffset, 0, m, k, 1);
  wasm.philoxFill(b, key0, key1, matmulStreams.b, 0, params.colOffset, k, n, 1);
  wasm.packPanels(b, packed, n, k);
  wasm.matmulF32Rows(a, packed, scratch, c, n, k, 0, m);
  return new Float32Array(wasm.memory.buffer, c, m * n).slice();
}
