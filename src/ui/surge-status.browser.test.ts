import { fixture, html } from '@open-wc/testing/pure';
import { describe, expect, it } from 'vitest';
import { unnamedControls } from '../../test/helpers/unnamed-controls.ts';
import type { ContributorSnapshot } from '../contributor/contributor-controller.ts';
import './surge-status.ts';
import type { SurgeStatus } from './surge-status.ts';

const running: ContributorSnapshot = {
  state: 'running',
  backends: ['wasm'],
  device: 'CPU, WebAssembly SIMD',
  cpuWorkers: 2,
  units: [
    {
      lane: 0,
      backend: 'wasm',
      id: 41,
      kernel: 'mandelbrot',
      jobName: 'Seahorse valley',
      jobPurpose: 'a deep zoom for the gallery',
      progress: 0.426,
      credit: 12,
    },
    { lane: 1, backend: 'wasm', id: 42, kernel: 'matmul-f32', jobName: 'Demo matrix product #1', jobPurpose: 'the core of ML', progress: 0.1, credit: 30 },
  ],
  submitted: 5,
  validated: 4,
  rejected: 0,
  credit: '48',
  waitingResults: 1,
  awaitingQuorum: 0,
  owner: '0x00000000000000000000000000000000000000aa',
  holds: [],
  limits: { battery: 'unknown', pressure: 'unknown', backoff: 1 },
};

describe('<surge-status>', () => {
  it('shows what is computed for which job, a progress bar per unit, the device, and credit validated and pending', async () => {
    const status = await fixture<SurgeStatus>(html`<surge-status .snapshot=${running} pendingCredit="12"></surge-status>`);
    const root = status.shadowRoot!;
    expect(root.querySelector('[role=status]')!.textContent).toBe('Computing');
    const units = root.querySelectorAll('[data-testid=unit]');
    expect(units).toHaveLength(2);
    expect(units[0]!.textContent).toContain('Seahorse valley: a deep zoom for the gallery');
    expect(units[0]!.textContent).toContain('Unit #41 · mandelbrot · WebAssembly · 42%');
    const bar = units[0]!.querySelector('progress')!;
    expect([bar.value, bar.max, bar.getAttribute('aria-label')]).toEqual([42, 100, 'Progress of unit 41']);
    expect(root.querySelector('[data-testid=device]')!.textContent).toBe('CPU, WebAssembly SIMD');
    expect(root.querySelector('[data-testid=credit]')!.textContent).toBe('48');
    expect(root.querySelector('[data-testid=credit-pending]')!.textContent).toBe('12');
    expect(unnamedControls(root)).toEqual([]);
  });

  it('has one Pause/Resume button that keeps keyboard focus as it turns', async () => {
    const status = await fixture<SurgeStatus>(html`<surge-status .snapshot=${running}></surge-status>`);
    const events: string[] = [];
    status.addEventListener('surge-pause', () => events.push('pause'));
    status.addEventListener('surge-resume', () => events.push('resume'));
    status.focus();
    const button = status.shadowRoot!.activeElement as HTMLButtonElement;
    expect(button.textContent).toBe('Pause');
    button.click();
    status.snapshot = { ...running, state: 'paused' };
    await status.updateComplete;
    expect(status.shadowRoot!.activeElement).toBe(button);
    expect(button.textContent).toBe('Resume');
    button.click();
    expect(events).toEqual(['pause', 'resume']);
    expect(status.shadowRoot!.querySelectorAll('button')).toHaveLength(1);
  });
});
