import type { Backend, KernelName } from '../protocol/schemas.ts';

/** What a unit of a kernel costs: the server grants credit from this, never the client. */
export interface WorkEstimate {
  /** Arithmetic operations (a multiply-add counts as two). */
  operations: number;
  /** Bytes of input the kernel reads and of output it writes. */
  bytes: number;
}

/**
 * One run of a kernel on one backend, in slices (see DESIGN.md, Kernels). `step` works for
 * about `budgetMs` and returns the fraction done; `checkpoint` returns bytes that `init`
 * accepts to resume; `finish` returns the output once progress is 1.
 */
export interface KernelRun {
  readonly backend: Backend;
  step(budgetMs: number): Promise<number>;
  checkpoint(): Promise<Uint8Array>;
  finish(): Promise<Uint8Array>;
  dispose(): void;
}

export interface KernelDefinition<Params> {
  name: KernelName;
  /** Bumped whenever the output bytes for the same parameters may change. */
  version: number;
  plan(params: Params): WorkEstimate;
  /** The exact size of a unit's output, which the coordinator checks before validating. */
  outputBytes(params: Params): number;
}
