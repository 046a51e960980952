import philoxSource from '../../shaders/philox.wgsl?raw';
import fillSource from '../../shaders/philox-fill.wgsl?raw';
import type { GpuContext } from './gpu-context.ts';

export interface FillRequest {
  key: [number, number];
  stream: number;
  row0: number;
  col0: number;
  rows: number;
  cols: number;
  asFloat: boolean;
}

/**
 * Encodes the generation of a Philox matrix into `target` on the GPU, so a unit's inputs
 * never cross the bus: only the seed does.
 */
export function encodePhiloxFill(gpu: GpuContext, encoder: GPUCommandEncoder, target: GPUBuffer, request: FillRequest, release: GPUBuffer[]): void {
  const { device } = gpu;
  const pipeline = gpu.pipeline('philox-fill', [philoxSource, fillSource]);
  const uniform = gpu.buffers.acquire('philox-fill params', 32, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  release.push(uniform);
  const { key, stream, row0, col0, rows, cols, asFloat } = request;
  device.queue.writeBuffer(uniform, 0, new Uint32Array([key[0], key[1], stream, row0, col0, rows, cols, asFloat ? 1 : 0]));
  const bindGroup = device.createBindGroup({
    label: 'philox-fill',
    layout: pipeline.getBindGroupLayout(0),
    entries: [
      { binding: 0, resource: { buffer: target } },
      { binding: 1, resource: { buffer: uniform } },
    ],
  });
  const blocks = ((col0 + cols + 3) >>> 2) - (col0 >>> 2);
  const pass = encoder.beginComputePass({ label: 'philox-fill' });
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(Math.ceil(blocks / 64), rows);
  pass.end();
}
