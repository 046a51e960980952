/**
 * One computation at a time per key (and per name, when `nameOf` names calls apart): a call
 * that comes while one is running gets that one's answer (made with the first call's
 * arguments) instead of starting another. For figures that scan the credit ledger (the
 * dashboard's, a partner's): however many pages ask at once, the ledger is read once.
 */
export function sharedWhileRunning<Key extends object, Args extends unknown[], Value>(
  compute: (key: Key, ...args: Args) => Promise<Value>,
  nameOf: (...args: Args) => string = () => '',
): (key: Key, ...args: Args) => Promise<Value> {
  const running = new WeakMap<Key, Map<string, Promise<Value>>>();
  return (key, ...args) => {
    let byName = running.get(key);
    if (!byName) {
      byName = new Map();
      running.set(key, byName);
    }
    const name = nameOf(...args);
    const current = byName.get(name);
    if (current) return current;
    const started = compute(key, ...args).finally(() => byName.delete(name));
    byName.set(name, started);
    return started;
  };
}
