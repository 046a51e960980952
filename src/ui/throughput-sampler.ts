import type { UnitProgress } from '../contributor/contributor-controller.ts';

/** One point of a throughput chart: a rate at a time (epoch milliseconds). */
export interface ThroughputSample {
  at: number;
  value: number;
}

/**
 * Turns the controller's snapshots into a throughput series: the work done between samples,
 * from each lane's unit progress × the unit's work estimate (credit = millions of operations),
 * over the time between samples, in millions of operations per second.
 *
 * @example
 * const sampler = new ThroughputSampler();
 * controller.addEventListener('change', () => sampler.observe(controller.snapshot.units));
 * setInterval(() => chart.samples = sampler.sample(), 1000);
 */
export class ThroughputSampler {
  private readonly lanes = new Map<number, { id: number; progress: number; credit: number }>();
  private work = 0;
  private lastSampleAt: number;
  private readonly series: ThroughputSample[] = [];

  constructor(
    /** Samples kept: a minute at one a second by default. */
    private readonly keep = 60,
    now = Date.now(),
  ) {
    this.lastSampleAt = now;
  }

  /** Counts the progress made since the last snapshot. */
  observe(units: readonly UnitProgress[]): void {
    const seen = new Set<number>();
    for (const unit of units) {
      seen.add(unit.lane);
      const before = this.lanes.get(unit.lane);
      if (before && before.id === unit.id) this.work += Math.max(0, unit.progress - before.progress) * unit.credit;
      // A unit seen for the first time (or resumed from a checkpoint) counts from where it is now.
      else if (before) this.work += (1 - before.progress) * before.credit;
      this.lanes.set(unit.lane, { id: unit.id, progress: unit.progress, credit: unit.credit });
    }
    for (const [lane, before] of this.lanes) {
      if (seen.has(lane)) continue;
      // The lane's unit finished and left the snapshot: its remaining progress was done.
      this.work += (1 - before.progress) * before.credit;
      this.lanes.delete(lane);
    }
  }

  /** Closes the current interval as a sample and returns the series so far (a new array). */
  sample(now = Date.now()): ThroughputSample[] {
    const seconds = (now - this.lastSampleAt) / 1000;
    if (seconds > 0) {
      this.series.push({ at: now, value: this.work / seconds });
      if (this.series.length > this.keep) this.series.splice(0, this.series.length - this.keep);
    }
    this.work = 0;
    this.lastSampleAt = now;
    return [...this.series];
  }

  /** Forgets where the lanes were, e.g. after a pause, so the wait does not count as work. */
  reset(now = Date.now()): void {
    this.lanes.clear();
    this.work = 0;
    this.lastSampleAt = now;
  }
}
