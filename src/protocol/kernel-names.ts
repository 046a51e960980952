/**
 * The kernels Surge runs, in a module of its own with no dependencies, so that code which
 * needs the list at run time (the kernel worker) does not pull the schema library in.
 */
export const kernelNames = ['matmul-f32', 'matmul-u32', 'mandelbrot', 'primes'] as const;
export type KernelName = (typeof kernelNames)[number];
