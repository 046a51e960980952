import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import { type BackendSetting, defaultSettings, type Settings } from '../storage/surge-db.ts';

type NumberField = 'cpuWorkers' | 'cpuLimit' | 'gpuLimit' | 'idleSeconds' | 'batteryPausePercent' | 'batteryResumePercent';
type BooleanField = 'onlyWhenIdle' | 'pauseWhenHidden' | 'backOffUnderPressure';

/** Where a number field is allowed to go; out-of-range input is clamped, never refused. */
const kRanges: Record<NumberField, { min: number; max: number; step: number }> = {
  cpuWorkers: { min: 1, max: 64, step: 1 },
  cpuLimit: { min: 10, max: 100, step: 5 },
  gpuLimit: { min: 10, max: 100, step: 5 },
  idleSeconds: { min: 5, max: 3600, step: 5 },
  batteryPausePercent: { min: 0, max: 100, step: 5 },
  batteryResumePercent: { min: 0, max: 100, step: 5 },
};

/**
 * The contributor's settings: the backend, CPU workers, the CPU and GPU limits, run only
 * when idle, pause when hidden, and the battery levels. Fires `surge-settings` with the new
 * `Settings` on every change; the controller applies them live. Where the browser lacks the
 * Battery Status or Compute Pressure API, it says so.
 */
@customElement('surge-settings')
export class SurgeSettings extends LitElement {
  @property({ attribute: false }) settings?: Settings;

  static override styles = css`
    :host { display: block; }
    form { display: grid; gap: 0.6rem; }
    /* Nothing wider than the card: a long option or note wraps instead of being cut off. */
    form > * { min-width: 0; }
    label { display: inline-flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; max-width: 100%; }
    select, input { font: inherit; padding: 0.25rem; max-width: 100%; }
    input[type='number'] { width: 5.5rem; }
    .note { margin: 0; color: var(--surge-muted, #555); font-size: 0.9em; }
  `;

  private get current(): Settings {
    return { ...defaultSettings, ...this.settings };
  }

  override render() {
    const s = this.current;
    const hardware = navigator.hardwareConcurrency || 2;
    const battery = typeof (navigator as Navigator & { getBattery?: unknown }).getBattery === 'function';
    const pressure = typeof (globalThis as { PressureObserver?: unknown }).PressureObserver === 'function';
    return html`
      <form @submit=${(event: Event) => event.preventDefault()}>
        <label>
          Compute on
          <select name="backend" .value=${s.backend} @change=${this.backendChanged}>
            <option value="auto">Automatic (GPU and CPU, each kernel where it is faster)</option>
            <option value="webgpu">GPU (WebGPU)</option>
            <option value="wasm">CPU only (WebAssembly), GPU off</option>
          </select>
        </label>
        ${this.number('cpuWorkers', 'CPU workers', s.cpuWorkers ?? Math.max(1, hardware - 1), hardware)}
        ${this.number('cpuLimit', 'CPU limit (%)', s.cpuLimit)}
        ${this.number('gpuLimit', 'GPU limit (%)', s.gpuLimit)}
        <p class="note">Each worker computes for a slice, then rests, so that it is busy this share of the time.</p>
        ${this.checkbox('onlyWhenIdle', 'Only when idle', s.onlyWhenIdle)}
        ${this.number('idleSeconds', 'Idle after (seconds without input)', s.idleSeconds)}
        ${this.checkbox('pauseWhenHidden', 'Pause when this tab is hidden', s.pauseWhenHidden)}
        ${this.number('batteryPausePercent', 'On battery, pause below (%)', s.batteryPausePercent)}
        ${this.number('batteryResumePercent', 'Resume at (%)', s.batteryResumePercent)}
        ${
          battery
            ? nothing
            : html`<p class="note" data-testid="battery-unsupported">This browser does not report the battery (Battery Status API), so the battery limit cannot apply here.</p>`
        }
        ${this.checkbox('backOffUnderPressure', 'Back off under CPU pressure', s.backOffUnderPressure)}
        ${
          pressure
            ? html`<p class="note">Under serious CPU pressure the limits are halved; under critical pressure computing pauses. The pressure counts Surge's own work too.</p>`
            : html`<p class="note" data-testid="pressure-unsupported">This browser does not report CPU pressure (Compute Pressure API), so computing cannot back off when the system is under load.</p>`
        }
      </form>
    `;
  }

  private number(field: NumberField, label: string, value: number, max = kRanges[field].max) {
    const range = kRanges[field];
    return html`<label>
      ${label}
      <input type="number" name=${field} min=${range.min} max=${max} step=${range.step} .value=${String(value)}
        @change=${(event: Event) => this.numberChanged(field, event, max)} />
    </label>`;
  }

  private checkbox(field: BooleanField, label: string, checked: boolean) {
    return html`<label>
      <input type="checkbox" name=${field} .checked=${checked} @change=${(event: Event) => this.emit({ [field]: (event.target as HTMLInputElement).checked })} />
      ${label}
    </label>`;
  }

  private numberChanged(field: NumberField, event: Event, max: number) {
    const input = event.target as HTMLInputElement;
    const value = Number(input.value);
    if (input.value === '' || !Number.isFinite(value)) {
      input.value = String(this.current[field] ?? '');
      return;
    }
    const clamped = Math.min(max, Math.max(kRanges[field].min, Math.round(value)));
    input.value = String(clamped);
    const patch: Partial<Settings> = { [field]: clamped };
    // Resuming below the pause level would flap: the resume level is at least the pause level.
    const next = { ...this.current, ...patch };
    if (next.batteryResumePercent < next.batteryPausePercent) {
      if (field === 'batteryResumePercent') patch.batteryPausePercent = clamped;
      else patch.batteryResumePercent = clamped;
    }
    this.emit(patch);
  }

  private backendChanged(event: Event) {
    this.emit({ backend: (event.target as HTMLSelectElement).value as BackendSetting });
  }

  private emit(patch: Partial<Settings>) {
    const settings = { ...this.current, ...patch };
    this.settings = settings;
    this.dispatchEvent(new CustomEvent<Settings>('surge-settings', { detail: settings, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-settings': SurgeSettings;
  }
}
