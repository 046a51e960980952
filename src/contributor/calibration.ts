import type { Remote } from 'comlink';
import { calibrationSpecs } from '../kernels/calibration-specs.ts';
import { kernelDefinitions } from '../kernels/registry.ts';
import type { KernelName } from '../protocol/schemas.ts';
import type { CalibrationRecord, SurgeDb } from '../storage/surge-db.ts';
import type { BackendProbe, KernelWorkerApi } from '../worker/kernel-worker-api.ts';

/** How long each kernel is timed on each backend. */
const kBudgetMs = { wasm: 150, webgpu: 400 } as const;

/** Who measured: the adapter and the browser, so a new GPU or browser measures again. */
export function calibrationIdentity(probe: BackendProbe): string {
  const gpu = probe.webgpu.available ? Object.values(probe.webgpu.adapter).join('/') : 'no-gpu';
  return `${gpu}|${navigator.userAgent}|relaxed-simd:${probe.wasm.relaxedSimd}`;
}

/**
 * Measures each kernel on WASM and (where there is an adapter) on WebGPU, once per adapter,
 * browser and kernel version, and keeps the result in IndexedDB. A software adapter such as
 * SwiftShader is measured like any other and loses to WASM where it is slower: the backend is
 * chosen by measuring, not by presence (DESIGN.md, limits of the browser).
 */
export async function calibrate(db: SurgeDb, worker: Remote<KernelWorkerApi>, probe: BackendProbe): Promise<CalibrationRecord[]> {
  const identity = calibrationIdentity(probe);
  const records: CalibrationRecord[] = [];
  for (const [kernel, spec] of Object.entries(calibrationSpecs) as [KernelName, NonNullable<(typeof calibrationSpecs)[KernelName]>][]) {
    const key = `${identity}|${kernel}|v${kernelDefinitions[kernel].version}`;
    const cached = await db.get('calibration', key);
    if (cached) {
      records.push(cached);
      continue;
    }
    const wasm = await worker.calibrate(spec, 'wasm', kBudgetMs.wasm);
    const webgpu = probe.webgpu.available ? await worker.calibrate(spec, 'webgpu', kBudgetMs.webgpu) : 0;
    const record: CalibrationRecord = { key, kernel, wasm, webgpu, measuredAt: new Date().toISOString() };
    await db.put('calibration', record);
    records.push(record);
  }
  return records;
}

/** The kernels a GPU lane should take: those measured faster on WebGPU than on one WASM worker. */
export function gpuFasterKernels(records: CalibrationRecord[]): KernelName[] {
  return records.filter((r) => r.webgpu > r.wasm).map((r) => r.kernel);
}
