import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { ContributorController, type ContributorSnapshot } from '../contributor/contributor-controller.ts';
import { defaultSettings, loadSettings, openSurgeDb, type Settings, type SurgeDb, saveSettings } from '../storage/surge-db.ts';
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
  @state() private settings: Settings = defaultSettings;
  @state() private consented = false;
  @state() private walletOpen: 'closed' | 'loading' | 'open' = 'closed';
  private controller?: ContributorController;
  private db?: SurgeDb;

  static override styles = css`
    :host { display: block; max-width: 44rem; margin: 0 auto; padding: 1.5rem; }
    h1 { margin-top: 0; }
    section + section { margin-top: 1.5rem; }
  `;

  override async connectedCallback() {
    super.connectedCallback();
    const db = await openSurgeDb();
    this.db = db;
    this.settings = await loadSettings(db);
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
      <section aria-label="Wallet">
        ${
          this.walletOpen === 'open'
            ? html`<surge-wallet .coordinator=${this.coordinator} .db=${this.db} .controller=${this.controller} .snapshot=${this.snapshot}></surge-wallet>`
            : html`<button type="button" ?disabled=${this.walletOpen === 'loading'} @click=${this.openWallet}>Wallet and rewards</button>`
        }
      </section>
      <section aria-label="Settings">
        <surge-settings .settings=${this.settings} @surge-settings=${this.saveSettings}></surge-settings>
      </section>
    `;
  }

  /** The wallet code (viem's wallet client, mipd) is a separate chunk, fetched only now. */
  private async openWallet() {
    this.walletOpen = 'loading';
    await import('./surge-wallet.ts');
    this.walletOpen = 'open';
  }

  private async start() {
    this.consented = true;
    await this.controller?.start();
  }

  private async saveSettings(event: CustomEvent<Settings>) {
    this.settings = event.detail;
    await saveSettings(await openSurgeDb(), event.detail);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-app': SurgeApp;
  }
}
