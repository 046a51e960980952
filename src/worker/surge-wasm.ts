import exactUrl from '../../wasm/build/surge.wasm?url';
import relaxedUrl from '../../wasm/build/surge-relaxed.wasm?url';

/**
 * The exports of Surge's AssemblyScript module (`wasm/*.ts`, one module for all kernels).
 * Each kernel's file adds its functions here.
 */
export interface SurgeWasmExports {
  memory: WebAssembly.Memory;
  alloc(bytes: number): number;
  /** Forgets every allocation; the memory keeps its size and contents. */
  freeAll(): void;
  philoxFill(ptr: number, key0: number, key1: number, stream: number, row0: number, col0: number, rows: number, cols: number, asFloat: number): void;
  packPanels(b: number, packed: number, n: number, k: number): void;
  matmulPackedBytes(n: number, k: number): number;
  matmulScratchBytes(): number;
  matmulF32Rows(a: number, packed: number, scratch: number, c: number, n: number, k: number, rowStart: number, rowEnd: number): void;
  matmulU32Rows(a: number, packed: number, scratch: number, c: number, n: number, k: number, rowStart: number, rowEnd: number): void;
  /** wasm/primes.ts: starts a run positioned at `firstBlock`; returns the address of its counts (two u32 per block). */
  primesInit(lo: number, hi: number, blockSize: number, firstBlock: number): number;
  /** wasm/primes.ts: counts blocks [first, end) into the run's counts. */
  primesCountBlocks(first: number, end: number): void;
  /** wasm/freivalds.ts: each row's dots with three signed vectors and of its absolute values with one weight vector (the coordinator's check). */
  freivaldsDots(matrix: number, rows: number, len: number, signed: number, weights: number, out: number): void;
  mandelbrotStateBytes(): number;
  /** Returns the units of work done; the next unfinished pixel is in the state block. */
  mandelbrotRun(coords: number, width: number, maxIterations: number, out: number, state: number, end: number, budget: number): number;
}

/** `exact`: plain SIMD, the same bytes everywhere. `relaxed`: relaxed SIMD (FMA), for tolerance-checked kernels only. */
export type WasmFlavour = 'exact' | 'relaxed';

/** `f32x4.relaxed_madd` in a function: validates only where relaxed SIMD exists. */
const kRelaxedProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 19, 1, 17, 0, 65, 0, 253, 15, 65, 0, 253, 15, 65, 0, 253, 15, 253, 133, 2, 11,
]);

export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(kRelaxedProbe);
}

const modules = new Map<WasmFlavour, Promise<WebAssembly.Module>>();

/**
 * Hands this realm modules compiled elsewhere: the worker pool compiles each flavour once on
 * the page and sends it to every worker (a WebAssembly.Module can be posted to a worker).
 */
export function provideSurgeWasmModules(provided: Partial<Record<WasmFlavour, WebAssembly.Module>>): void {
  for (const [flavour, module] of Object.entries(provided) as [WasmFlavour, WebAssembly.Module][]) modules.set(flavour, Promise.resolve(module));
}

/** The compiled module of a flavour: provided by the pool, or compiled here once and shared by every run. */
export function surgeWasmModule(flavour: WasmFlavour): Promise<WebAssembly.Module> {
  let module = modules.get(flavour);
  if (!module) {
    module = WebAssembly.compileStreaming(fetch(flavour === 'relaxed' ? relaxedUrl : exactUrl));
    modules.set(flavour, module);
  }
  return module;
}

/** A fresh instance (fresh memory) of the module. */
export async function instantiateSurgeWasm(module: WebAssembly.Module): Promise<SurgeWasmExports> {
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort: () => {
        throw new Error('surge.wasm aborted');
      },
    },
  });
  return instance.exports as unknown as SurgeWasmExports;
}

/** A run's instance kept for the next run, per module: its memory is already mapped. */
const idleInstances = new WeakMap<WebAssembly.Module, SurgeWasmExports>();

/** Idle instances with more memory than this are dropped rather than kept (a worker holds one per module). */
const kMaxIdleBytes = 128 * 1024 * 1024;

/**
 * An instance of `module` for a run that writes every byte of its buffers before it reads
 * them (matmul): the last released instance with its heap reset, or a fresh one. Return it
 * with `releaseSurgeWasm` when the run ends.
 *
 * Fresh linear memory is mapped on first touch, one page fault per 4 KiB page, and the kernel
 * touches its output first. In a VM those faults are dear: the 4 MiB output of a 1024² matmul
 * cost about 18 ms of a 61 ms unit when every unit had a fresh instance.
 */
export async function acquireSurgeWasm(module: WebAssembly.Module): Promise<SurgeWasmExports> {
  const idle = idleInstances.get(module);
  if (!idle) return instantiateSurgeWasm(module);
  idleInstances.delete(module);
  idle.freeAll();
  return idle;
}

/** Keeps a finished run's instance for the next `acquireSurgeWasm` of the same module. */
export function releaseSurgeWasm(module: WebAssembly.Module, instance: SurgeWasmExports): void {
  if (instance.memory.buffer.byteLength <= kMaxIdleBytes) idleInstances.set(module, instance);
}
