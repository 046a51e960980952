import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { ContributorController, type ContributorSnapshot } from '../contributor/contributor-controller.ts';
import { deviceDefaults } from '../contributor/device-defaults.ts';
import { loadSettings, openSurgeDb, type Settings, saveSettings } from '../storage/surge-db.ts';
import './surge-consent.ts';
import './surge-settings.ts';
import './surge-status.ts';

/**
 * The contributor page: consent first, then the live status with Pause/Resume, and the
 * settings. `coordinator` defaults to the page's own origin.
 */
@customElement('surge-app')
export class SurgeApp extends LitElement {
  @property() coordinator = location.origin;
  @state() private snapshot?: ContributorSnapshot;
  @state() private settings: Settings = deviceDefaults();
  @state() private consented = false;
  private controller?: ContributorController;

  static override styles = css`
    :host { display: block; max-width: 44rem; margin: 0 auto; padding: 1.5rem; }
    h1 { margin-top: 0; }
    section + section { margin-top: 1.5rem; }
  `;

  override async connectedCallback() {
    super.connectedCallback();
    const db = await openSurgeDb();
    this.settings = await loadSettings(db, deviceDefaults());
    this.controller = new ContributorController({ coordinatorUrl: this.coordinator, db });
    this.controller.addEventListener('change', () => {
      this.snapshot = this.controller!.snapshot;
    });
    this.snapshot = this.controller.snapshot;
  }

  override render() {
    return html`
      <h1>Surge</h1>
      ${
        this.consented
          ? html`<surge-status .snapshot=${this.snapshot} @surge-pause=${() => this.controller?.pause()} @surge-resume=${() => this.controller?.resume()}></surge-status>`
          : html`<surge-consent @surge-consent=${this.start}></surge-consent>`
      }
      <section aria-label="Settings">
        <surge-settings .settings=${this.settings} @surge-settings=${this.saveSettings}></surge-settings>
      </section>
    `;
  }

  private async start() {
    this.consented = true;
    await this.controller?.start();
  }

  private async saveSettings(event: CustomEvent<Settings>) {
    this.settings = event.detail;
    await saveSettings(await openSurgeDb(), event.detail);
    this.controller?.applySettings(event.detail);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-app': SurgeApp;
  }
}
