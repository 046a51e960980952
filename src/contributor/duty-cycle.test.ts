import { describe, expect, it } from 'vitest';
import { DutyCycle } from './duty-cycle.ts';

/** Runs slices of `sliceMs` with the rests the duty cycle asks for, plus `gapMs` of overhead each, and returns busy / wall. */
function simulate(limit: number, sliceMs: number, gapMs: number, slices: number, timerSlackMs = 0): number {
  let now = 0;
  const duty = new DutyCycle(() => now);
  let busy = 0;
  for (let i = 0; i < slices; i++) {
    now += sliceMs;
    busy += sliceMs;
    const rest = duty.restAfter(sliceMs, limit);
    now += rest > 0 ? rest + timerSlackMs : 0;
    now += gapMs;
  }
  return busy / now;
}

describe('DutyCycle', () => {
  it('holds busy / wall at the limit', () => {
    for (const limit of [0.1, 0.25, 0.5, 0.75]) expect(simulate(limit, 200, 0, 50)).toBeCloseTo(limit, 2);
  });

  it('makes up for timers that fire late and for the time between slices', () => {
    expect(simulate(0.25, 200, 3, 50, 15)).toBeCloseTo(0.25, 2);
    expect(simulate(0.5, 37, 5, 80, 4)).toBeCloseTo(0.5, 2);
  });

  it('does not rest at 100%', () => {
    const duty = new DutyCycle(() => 0);
    expect(duty.restAfter(200, 1)).toBe(0);
  });

  it('banks no credit from time spent not computing', () => {
    let now = 0;
    const duty = new DutyCycle(() => now);
    now += 100;
    expect(duty.restAfter(100, 0.5)).toBeCloseTo(100);
    now += 100 + 60_000; // rested, then waited a minute for work
    now += 100;
    // Straight after the wait the next slice still rests its share.
    expect(duty.restAfter(100, 0.5)).toBeCloseTo(100);
  });

  it('starts a new window when the limit changes', () => {
    let now = 0;
    const duty = new DutyCycle(() => now);
    now += 100;
    expect(duty.restAfter(100, 0.5)).toBeCloseTo(100);
    now += 100 + 100;
    expect(duty.restAfter(100, 0.25)).toBeCloseTo(300);
  });
});
