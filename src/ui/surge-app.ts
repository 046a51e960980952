import { css, html, LitElement } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { Hex } from 'viem';
import { ContributorController, type ContributorSnapshot } from '../contributor/contributor-controller.ts';
import { defaultSettings, loadSettings, openSurgeDb, type Settings, type SurgeDb, saveSettings } from '../storage/surge-db.ts';
import { sealPrivateKey } from '../wallet/key-vault.ts';
import './surge-consent.ts';
import './surge-settings.ts';
import './surge-status.ts';

/** What the headless runner asks of the page (see `startRun`). */
export interface HeadlessRun {
  cpuWorkers?: number;
  cpuLimitPercent?: number;
  /** The owner key credit goes to, instead of this browser's own. */
  ownerKey?: { privateKey: Hex; address: Hex };
}

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

  /** The contribution as the page shows it; undefined until the page is ready. */
  get contribution(): ContributorSnapshot | undefined {
    return this.snapshot;
  }

  /**
   * Starts contributing now, with these overrides, for an automated run whose operator
   * consented by starting it: the headless runner calls this through `page.evaluate`. No
   * link, URL parameter or message can reach it.
   */
  async startRun(run: HeadlessRun): Promise<void> {
    while (!this.controller) await new Promise((resolve) => setTimeout(resolve, 20));
    const db = await openSurgeDb();
    // Sealed like any owner key (key-vault.ts); a headless run's browser profile is fresh.
    if (run.ownerKey) await db.put('keys', await sealPrivateKey(db, run.ownerKey.privateKey, run.ownerKey.address), 'owner');
    const settings = run.cpuWorkers ? { cpuWorkers: run.cpuWorkers } : {};
    this.controller = new ContributorController({ coordinatorUrl: this.coordinator, db, settings, cpuLimitPercent: run.cpuLimitPercent });
    this.controller.addEventListener('change', () => {
      this.snapshot = this.controller!.snapshot;
    });
    await this.start();
  }

  /** Stops computing at the end of the run; results still send. */
  pauseRun(): void {
    this.controller?.pause();
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
