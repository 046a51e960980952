import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { ContributorSnapshot } from '../contributor/contributor-controller.ts';

const backendLabels = { webgpu: 'WebGPU', wasm: 'WebAssembly' } as const;

const stateLabels: Record<ContributorSnapshot['state'], string> = {
  idle: 'Not started',
  starting: 'Starting…',
  running: 'Computing',
  paused: 'Paused',
  held: 'Held back by a limit',
  standby: 'Another tab is contributing',
  waiting: 'Waiting for work',
  error: 'Stopped by an error',
};

/**
 * The live view of a contribution: state, backend and device, the current unit with its
 * progress, and the counts of results and credit. Fires `surge-pause` and `surge-resume`.
 */
@customElement('surge-status')
export class SurgeStatus extends LitElement {
  @property({ attribute: false }) snapshot?: ContributorSnapshot;
  /** Credit of the results still waiting in the outbox, not yet validated. */
  @property() pendingCredit = '0';

  static override styles = css`
    :host { display: block; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1rem; margin: 1rem 0; }
    dt { color: var(--surge-muted, #555); }
    dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
    progress { width: 100%; height: 1rem; }
    .units { list-style: none; padding: 0; margin: 0; display: grid; gap: 0.5rem; }
    .units li { display: grid; gap: 0.25rem; }
    .meta { color: var(--surge-muted, #555); font-size: 0.9em; font-variant-numeric: tabular-nums; }
    @media (max-width: 30rem) { dl { grid-template-columns: 1fr; gap: 0 0; } dd { margin-bottom: 0.4rem; } }
    .notice { padding: 0.5rem 0.75rem; border-left: 4px solid var(--surge-focus, #f59e0b); background: var(--surge-notice-bg, #fffbeb); }
    button { font: inherit; font-weight: 600; padding: 0.5rem 1.2rem; border-radius: 0.4rem; border: 2px solid currentColor; background: transparent; color: inherit; cursor: pointer; }
    button:focus-visible { outline: 3px solid var(--surge-focus, #f59e0b); outline-offset: 2px; }
  `;

  override render() {
    const s = this.snapshot;
    if (!s) return nothing;
    const canPause = s.state === 'running' || s.state === 'waiting' || s.state === 'starting' || s.state === 'held';
    return html`
      <p>
        <strong data-testid="state" role="status">${stateLabels[s.state]}</strong>
        ${
          // One button that turns from Pause to Resume, so keyboard focus stays on it.
          canPause || s.state === 'paused'
            ? html`<button type="button" @click=${() => this.fire(canPause ? 'surge-pause' : 'surge-resume')}>${canPause ? 'Pause' : 'Resume'}</button>`
            : nothing
        }
      </p>
      ${s.notice ? html`<p class="notice" role="alert">${s.notice}</p>` : nothing}
      ${s.holds.length ? html`<ul data-testid="holds">${s.holds.map((hold) => html`<li>${hold.message}</li>`)}</ul>` : nothing}
      <dl>
        <dt>Backend</dt>
        <dd data-testid="backend">${s.backends.length ? s.backends.map((b) => backendLabels[b]).join(' and ') : '—'}</dd>
        <dt>Device</dt>
        <dd data-testid="device">${s.device ?? '—'}</dd>
        <dt>Workers</dt>
        <dd data-testid="workers">${s.cpuWorkers ? `${s.cpuWorkers} on the CPU${s.backends.includes('webgpu') ? ', 1 on the GPU' : ''}` : s.backends.includes('webgpu') ? '1 on the GPU' : '—'}</dd>
      </dl>
      <ul class="units" aria-label="Work units in progress">
        ${s.units.map((unit) => {
          const percent = Math.floor(unit.progress * 100);
          return html`<li data-testid="unit">
            <span><strong>${unit.jobName}</strong>: ${unit.jobPurpose}</span>
            <span class="meta">Unit #${unit.id} · ${unit.kernel} · ${backendLabels[unit.backend]} · ${percent}%</span>
            <progress max="100" .value=${percent} aria-label=${`Progress of unit ${unit.id}`}>${percent}%</progress>
          </li>`;
        })}
      </ul>
      <dl>
        <dt>Results submitted</dt>
        <dd data-testid="submitted">${s.submitted}</dd>
        <dt>Results validated</dt>
        <dd data-testid="validated">${s.validated}</dd>
        <dt>Results refused</dt>
        <dd data-testid="rejected">${s.rejected}</dd>
        <dt>Waiting to send</dt>
        <dd data-testid="waiting">${s.waitingResults}</dd>
        ${s.waitingReason ? html`<dt>Why waiting</dt><dd data-testid="waiting-reason">${s.waitingReason}</dd>` : nothing}
        ${
          s.awaitingQuorum > 0
            ? html`<dt>Waiting for a second opinion</dt><dd data-testid="awaiting-quorum">${s.awaitingQuorum} (another contributor computes the same unit; they are paid once both agree)</dd>`
            : nothing
        }
        <dt>Credit validated</dt>
        <dd data-testid="credit">${s.credit}</dd>
        <dt>Credit pending</dt>
        <dd data-testid="credit-pending">${this.pendingCredit}</dd>
        <dt>Earning to</dt>
        <dd data-testid="owner"><code>${s.owner ?? '—'}</code></dd>
      </dl>
    `;
  }

  /** Focuses the Pause or Resume button, so a keyboard user who pressed Start lands on it. */
  override focus(): void {
    this.renderRoot.querySelector('button')?.focus();
  }

  private fire(name: 'surge-pause' | 'surge-resume') {
    this.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-status': SurgeStatus;
  }
}
