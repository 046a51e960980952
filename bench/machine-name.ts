import { cpus } from 'node:os';

/** The processor, its number of cores and Node's version, as one line: benchmarks print it with their figures. */
export function machineName(): string {
  const cores = cpus();
  return `${cores[0]?.model.trim() ?? 'an unknown processor'}, ${cores.length} cores, Node ${process.version}`;
}
