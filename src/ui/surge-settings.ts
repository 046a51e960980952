import { css, html, LitElement } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { BackendSetting, Settings } from '../storage/surge-db.ts';

/** The contributor's settings. Fires `surge-settings` with the new `Settings` on change. */
@customElement('surge-settings')
export class SurgeSettings extends LitElement {
  @property({ attribute: false }) settings?: Settings;

  static override styles = css`
    :host { display: block; }
    label { display: inline-flex; gap: 0.5rem; align-items: center; }
    select { font: inherit; padding: 0.25rem; }
  `;

  override render() {
    const backend = this.settings?.backend ?? 'auto';
    return html`
      <label>
        Compute on
        <select name="backend" .value=${backend} @change=${this.changed}>
          <option value="auto">Automatic (GPU and CPU, each kernel where it is faster)</option>
          <option value="webgpu">GPU (WebGPU)</option>
          <option value="wasm">CPU (WebAssembly)</option>
        </select>
      </label>
    `;
  }

  private changed(event: Event) {
    const backend = (event.target as HTMLSelectElement).value as BackendSetting;
    this.dispatchEvent(new CustomEvent<Settings>('surge-settings', { detail: { ...this.settings, backend }, bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-settings': SurgeSettings;
  }
}
