/**
 * Sizes the next slice of work (rows, workgroups) from the measured time per item, so that
 * a slice fits the time left in a step. Starts small and grows at most fourfold per slice,
 * so one slow first guess cannot run for seconds (browsers lose a GPU device whose submit
 * runs that long).
 */
export class SliceSizer {
  private itemsPerMs = 0;
  private last: number;

  constructor(
    private readonly granule: number,
    private readonly maxItems = Number.POSITIVE_INFINITY,
  ) {
    this.last = granule;
  }

  next(budgetMs: number): number {
    if (this.itemsPerMs === 0) return this.last;
    const fit = Math.floor((this.itemsPerMs * Math.max(budgetMs, 1)) / this.granule) * this.granule;
    this.last = Math.max(this.granule, Math.min(fit, this.last * 4, this.maxItems));
    return this.last;
  }

  record(items: number, elapsedMs: number): void {
    const rate = items / Math.max(elapsedMs, 0.05);
    this.itemsPerMs = this.itemsPerMs === 0 ? rate : 0.5 * this.itemsPerMs + 0.5 * rate;
  }
}
