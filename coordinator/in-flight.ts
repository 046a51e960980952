/**
 * One computation at a time per key: a call that comes while one is running gets that one's
 * answer (made with the first call's arguments) instead of starting another. For the
 * dashboard's figures, which scan the credit ledger: however many dashboards ask at once, the
 * ledger is read once.
 */
export function sharedWhileRunning<Key extends object, Args extends unknown[], Value>(
  compute: (key: Key, ...args: Args) => Promise<Value>,
): (key: Key, ...args: Args) => Promise<Value> {
  const running = new WeakMap<Key, Promise<Value>>();
  return (key, ...args) => {
    const current = running.get(key);
    if (current) return current;
    const started = compute(key, ...args).finally(() => running.delete(key));
    running.set(key, started);
    return started;
  };
}
