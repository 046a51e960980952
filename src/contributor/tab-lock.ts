/** The Web Lock one browser's contributing tab holds (https://w3c.github.io/web-locks/). */
export const kContributorLock = 'surge-contributor';

/**
 * One tab of a browser contributes at a time: the tab that contributes holds a Web Lock,
 * which the browser frees when the tab closes or crashes, and hands to the next tab waiting.
 *
 * @example
 * const lock = new TabLock();
 * await lock.acquire(() => show('Another tab is contributing'));
 * // … contribute …
 * lock.release();
 */
export class TabLock {
  private releaseHeld: (() => void) | undefined;
  private readonly abort = new AbortController();

  constructor(private readonly name = kContributorLock) {}

  /**
   * Resolves true once this tab holds the lock, calling `onWait` first when another tab
   * holds it; resolves false when `release` came first. Without Web Locks it resolves true.
   */
  async acquire(onWait: () => void): Promise<boolean> {
    const locks = navigator.locks;
    if (!locks) return true;
    const state = await locks.query();
    if (state.held?.some((lock) => lock.name === this.name)) onWait();
    return new Promise<boolean>((resolve) => {
      locks
        .request(this.name, { signal: this.abort.signal }, () => {
          resolve(true);
          // Held until release() (or until the tab goes away).
          return new Promise<void>((done) => {
            this.releaseHeld = done;
          });
        })
        .catch(() => resolve(false));
    });
  }

  release(): void {
    this.abort.abort();
    this.releaseHeld?.();
    this.releaseHeld = undefined;
  }
}
