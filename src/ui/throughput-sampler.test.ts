import { describe, expect, it } from 'vitest';
import type { UnitProgress } from '../contributor/contributor-controller.ts';
import { ThroughputSampler } from './throughput-sampler.ts';

function unit(lane: number, id: number, progress: number, credit: number): UnitProgress {
  return { lane, backend: 'wasm', id, kernel: 'mandelbrot', jobName: 'j', jobPurpose: 'p', progress, credit };
}

describe('ThroughputSampler', () => {
  it('measures work from progress × credit over the time between samples', () => {
    const sampler = new ThroughputSampler(60, 0);
    sampler.observe([unit(0, 1, 0, 100), unit(1, 2, 0.5, 40)]);
    sampler.observe([unit(0, 1, 0.25, 100), unit(1, 2, 1, 40)]);
    // lane 0: 25 of 100; lane 1: 20 of 40 → 45 in 2 s.
    expect(sampler.sample(2000)).toEqual([{ at: 2000, value: 22.5 }]);
    // Lane 1's unit finishes and leaves; lane 0 moves on to a new unit after finishing the old one.
    sampler.observe([unit(0, 3, 0.1, 10)]);
    // Lane 0: the last 75 of unit 1 (unit 3 counts from where it was first seen); lane 1: nothing left.
    expect(sampler.sample(3000).at(-1)).toEqual({ at: 3000, value: 75 });
    expect(sampler.sample(4000).at(-1)).toEqual({ at: 4000, value: 0 });
  });

  it('counts a unit resumed mid-way from where it was first seen, and keeps only the last samples', () => {
    const sampler = new ThroughputSampler(3, 0);
    sampler.observe([unit(0, 7, 0.9, 1000)]);
    expect(sampler.sample(1000)).toEqual([{ at: 1000, value: 0 }]);
    for (let t = 2; t <= 5; t++) sampler.sample(t * 1000);
    expect(sampler.sample(6000).map((s) => s.at)).toEqual([4000, 5000, 6000]);
  });
});
