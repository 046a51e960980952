import { describe, expect, it } from 'vitest';
import { IssuedLeases } from './issued-leases.ts';
import type { LeaseFacts } from './result-intake.ts';

const facts = (i: number): LeaseFacts => ({
  id: `0x${i.toString(16).padStart(64, '0')}`,
  unit_id: i,
  session: '0xsession',
  owner: '0xowner',
  kernel: 'primes',
  params: '{}',
  credit: 1,
  job_id: 1,
  canary: 0,
  expectedHash: null,
});

describe('the leases a coordinator issued', () => {
  it('are recalled until forgotten, and the ids not known are named', () => {
    const issued = new IssuedLeases();
    issued.remember([facts(1), facts(2), facts(3)]);
    const { known, unknown } = issued.recall([facts(2).id, facts(9).id, facts(3).id]);
    expect(known).toEqual([facts(2), facts(3)]);
    expect(unknown).toEqual([facts(9).id]);
    issued.forget([facts(2).id]);
    expect(issued.recall([facts(2).id]).unknown).toEqual([facts(2).id]);
  });

  it('hold at most 131,072, forgetting the oldest first', () => {
    const issued = new IssuedLeases();
    for (let start = 0; start < 140_000; start += 1000) issued.remember(Array.from({ length: 1000 }, (_, i) => facts(start + i)));
    expect(issued.size).toBe(131_072);
    expect(issued.recall([facts(0).id, facts(140_000 - 131_072 - 1).id]).known).toEqual([]);
    expect(issued.recall([facts(140_000 - 131_072).id, facts(139_999).id]).unknown).toEqual([]);
  });
});
