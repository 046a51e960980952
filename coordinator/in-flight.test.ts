import { describe, expect, it } from 'vitest';
import { sharedWhileRunning } from './in-flight.ts';

describe('sharedWhileRunning', () => {
  it('answers calls that come while a computation runs with its answer, and computes again once it is done', async () => {
    const started: number[] = [];
    let finish!: (value: string) => void;
    const compute = sharedWhileRunning((_key: object, now: number) => {
      started.push(now);
      return new Promise<string>((resolve) => (finish = resolve));
    });
    const key = {};
    const first = compute(key, 1);
    const second = compute(key, 2);
    expect(started).toEqual([1]);
    finish('figures at 1');
    expect(await Promise.all([first, second])).toEqual(['figures at 1', 'figures at 1']);

    const third = compute(key, 3);
    expect(started).toEqual([1, 3]);
    finish('figures at 3');
    expect(await third).toBe('figures at 3');
  });

  it('keeps keys apart, and a failure ends the sharing like an answer does', async () => {
    let calls = 0;
    const compute = sharedWhileRunning(async (key: { fail: boolean }) => {
      calls++;
      if (key.fail) throw new Error('scan failed');
      return 'ok';
    });
    const failing = { fail: true };
    await expect(compute(failing)).rejects.toThrow('scan failed');
    await expect(compute(failing)).rejects.toThrow('scan failed');
    expect(await compute({ fail: false })).toBe('ok');
    expect(calls).toBe(3);
  });

  it('shares a computation only between calls of the same name, when names are given', async () => {
    const started: string[] = [];
    const finishes = new Map<string, (value: string) => void>();
    const compute = sharedWhileRunning(
      (_key: object, partner: string) => {
        started.push(partner);
        return new Promise<string>((resolve) => finishes.set(partner, resolve));
      },
      (partner) => partner,
    );
    const key = {};
    const calls = [compute(key, 'news-site'), compute(key, 'blog'), compute(key, 'news-site')];
    expect(started).toEqual(['news-site', 'blog']);
    finishes.get('news-site')!('news figures');
    finishes.get('blog')!('blog figures');
    expect(await Promise.all(calls)).toEqual(['news figures', 'blog figures', 'news figures']);
  });
});
