import { css, html, LitElement } from 'lit';
import { customElement, property, query, state } from 'lit/decorators.js';
import type { Hex } from 'viem';
import { ContributorController, type ContributorSnapshot, type UnitOutput } from '../contributor/contributor-controller.ts';
import { deviceDefaults } from '../contributor/device-defaults.ts';
import { type AcceptedReceipt, loadSettings, openSurgeDb, type Settings, type SurgeDb, saveSettings } from '../storage/surge-db.ts';
import { sealPrivateKey } from '../wallet/key-vault.ts';
import './surge-consent.ts';
import './surge-mandelbrot-view.ts';
import type { SurgeMandelbrotView } from './surge-mandelbrot-view.ts';
import './surge-receipts.ts';
import './surge-settings.ts';
import './surge-status.ts';
import type { SurgeStatus } from './surge-status.ts';
import './surge-throughput-chart.ts';
import { type ThroughputSample, ThroughputSampler } from './throughput-sampler.ts';

/** How often the throughput chart gets a point. */
const kSampleEveryMs = 1000;

/** What the headless runner asks of the page (see `startRun`). */
export interface HeadlessRun {
  cpuWorkers?: number;
  cpuLimitPercent?: number;
  /** The owner key credit goes to, instead of this browser's own. */
  ownerKey?: { privateKey: Hex; address: Hex };
}

/**
 * The contributor page: consent first, then the live status with Pause/Resume, the
 * throughput chart, the Mandelbrot tiles computed here, the receipts with their export, the
 * settings, and the wallet panel (`<surge-wallet>`, loaded when the visitor opens it).
 * `coordinator` defaults to the page's own origin.
 */
@customElement('surge-app')
export class SurgeApp extends LitElement {
  @property() coordinator = location.origin;
  @state() private snapshot?: ContributorSnapshot;
  @state() private settings: Settings = deviceDefaults();
  @state() private consented = false;
  @state() private walletOpen: 'closed' | 'loading' | 'open' = 'closed';
  @state() private samples: ThroughputSample[] = [];
  @state() private receipts: AcceptedReceipt[] = [];
  @state() private pendingCredit = '0';
  @query('surge-mandelbrot-view') private mandelbrotView?: SurgeMandelbrotView;
  @query('surge-status') private status?: SurgeStatus;
  private controller?: ContributorController;
  @state() private db?: SurgeDb;
  private readonly sampler = new ThroughputSampler();
  private sampleTimer: ReturnType<typeof setInterval> | undefined;
  private ledgerKey: string | undefined;
  /**
   * The page's database open and its controller attached. The Start button shows before that,
   * so Start and the headless runner wait for it.
   */
  private ready: Promise<void> = Promise.resolve();
  /** The last settings change, saved in order after the ones before it (see `saveSettings`). */
  private settingsSaved: Promise<void> = Promise.resolve();

  static override styles = css`
    :host { display: block; max-width: 72rem; margin: 0 auto; padding: 1.5rem; box-sizing: border-box; }
    header { display: flex; flex-wrap: wrap; align-items: baseline; justify-content: space-between; gap: 0.5rem 1.5rem; margin-bottom: 1rem; }
    h1 { margin: 0; }
    header a { color: var(--surge-link, #1d4ed8); }
    a:focus-visible { outline: 3px solid var(--surge-focus, #f59e0b); outline-offset: 2px; }
    h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
    .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); gap: 1.25rem; align-items: start; }
    /* A card never widens the page: on a phone, anything too wide for it scrolls inside the card. */
    section { background: var(--surge-card, transparent); border: 1px solid var(--surge-border, #d1d5db); border-radius: 0.6rem; padding: 1rem; min-width: 0; overflow-x: auto; }
    .wide { grid-column: 1 / -1; }
    section > button { font: inherit; font-weight: 600; padding: 0.5rem 1.2rem; border-radius: 0.4rem; border: 2px solid currentColor; background: transparent; color: inherit; cursor: pointer; }
    section > button:focus-visible { outline: 3px solid var(--surge-focus, #f59e0b); outline-offset: 2px; }
    [hidden] { display: none; }
    @media (max-width: 30rem) { :host { padding: 0.75rem; } section { padding: 0.75rem; } }
  `;

  override connectedCallback() {
    super.connectedCallback();
    this.ready = this.open();
    void this.ready.then(() => this.refreshLedger());
  }

  /** Opens the page's database, reads the settings and attaches the controller. */
  private async open(): Promise<void> {
    const db = await openSurgeDb();
    this.settings = await loadSettings(db, deviceDefaults());
    // The settings form shows from here: a change made on the defaults before they were read would be lost.
    this.db = db;
    this.attach(new ContributorController({ coordinatorUrl: this.coordinator, db }));
  }

  /** Shows this controller's contribution from now on. */
  private attach(controller: ContributorController) {
    this.controller = controller;
    controller.addEventListener('change', () => {
      this.snapshot = controller.snapshot;
      this.sampler.observe(this.snapshot.units);
      void this.refreshLedger();
    });
    controller.addEventListener('output', (event) => this.showOutput((event as CustomEvent<UnitOutput>).detail));
    this.snapshot = controller.snapshot;
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    clearInterval(this.sampleTimer);
  }

  override render() {
    const s = this.snapshot;
    return html`
      <header>
        <h1>Surge</h1>
        <a href="dashboard.html">See the whole network</a>
      </header>
      <div class="grid">
        <section class="wide" aria-labelledby="contribution-title">
          <h2 id="contribution-title">Your contribution</h2>
          ${
            this.consented
              ? html`<surge-status
                  .snapshot=${s}
                  pendingCredit=${this.pendingCredit}
                  @surge-pause=${() => this.controller?.pause()}
                  @surge-resume=${() => this.controller?.resume()}
                ></surge-status>`
              : html`<surge-consent @surge-consent=${this.start}></surge-consent>`
          }
        </section>
        ${
          this.consented
            ? html`<section aria-labelledby="throughput-title">
                  <h2 id="throughput-title">Throughput</h2>
                  <surge-throughput-chart label="Work done here" unit="million operations per second" .samples=${this.samples}></surge-throughput-chart>
                </section>
                <section aria-labelledby="picture-title">
                  <h2 id="picture-title">Your part of the picture</h2>
                  <surge-mandelbrot-view></surge-mandelbrot-view>
                </section>`
            : ''
        }
        <section aria-labelledby="receipts-title">
          <h2 id="receipts-title">Receipts</h2>
          <surge-receipts .receipts=${this.receipts} owner=${s?.owner ?? ''} coordinator=${this.coordinator}></surge-receipts>
        </section>
        <section aria-label="Settings">
          ${this.db ? html`<surge-settings .settings=${this.settings} @surge-settings=${this.saveSettings}></surge-settings>` : ''}
        </section>
        <section aria-label="Wallet">
          ${
            this.walletOpen === 'open'
              ? html`<surge-wallet .coordinator=${this.coordinator} .db=${this.db} .controller=${this.controller} .snapshot=${s}></surge-wallet>`
              : html`<button type="button" ?disabled=${this.walletOpen === 'loading'} @click=${this.openWallet}>Wallet and rewards</button>`
          }
        </section>
      </div>
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
    await this.ready;
    const db = await openSurgeDb();
    // Sealed like any owner key (key-vault.ts); a headless run's browser profile is fresh.
    if (run.ownerKey) await db.put('keys', await sealPrivateKey(db, run.ownerKey.privateKey, run.ownerKey.address), 'owner');
    const settings = { ...(run.cpuWorkers ? { cpuWorkers: run.cpuWorkers } : {}), ...(run.cpuLimitPercent ? { cpuLimit: run.cpuLimitPercent } : {}) };
    this.attach(new ContributorController({ coordinatorUrl: this.coordinator, db, settings }));
    await this.start();
  }

  /** Stops computing at the end of the run; results still send. */
  pauseRun(): void {
    this.controller?.pause();
  }

  private async start() {
    await this.ready;
    // The run reads its settings from IndexedDB: a backend chosen just before Start is saved first.
    await this.settingsSaved;
    this.consented = true;
    this.sampler.reset();
    this.sampleTimer = setInterval(() => {
      this.samples = this.sampler.sample();
    }, kSampleEveryMs);
    await this.controller?.start();
    // The Start button is gone: keyboard focus moves to Pause, where the next action is.
    await this.updateComplete;
    this.status?.focus();
  }

  private showOutput(detail: UnitOutput) {
    if (detail.spec.kernel !== 'mandelbrot') return;
    const { output } = detail;
    const counts = new Uint32Array(output.buffer, output.byteOffset, output.byteLength / 4);
    this.mandelbrotView?.addTile(detail.jobId, detail.jobName, detail.spec.params, counts);
  }

  /** Receipts and the credit still waiting in the outbox, from IndexedDB, when the counts moved. */
  private async refreshLedger() {
    const s = this.snapshot;
    const key = s ? `${s.submitted}/${s.validated}/${s.waitingResults}` : '';
    if (!this.db || key === this.ledgerKey) return;
    this.ledgerKey = key;
    const [receipts, outbox] = await Promise.all([this.db.getAll('receipts'), this.db.getAll('outbox')]);
    this.receipts = receipts;
    this.pendingCredit = String(
      outbox.filter((entry) => entry.coordinator === this.coordinator).reduce((sum, entry) => sum + BigInt(entry.request.receipt.units), 0n),
    );
  }

  /**
   * Saves a change on the page's own connection, after the changes before it, and applies it
   * to the run. A save that fails leaves the next one to go on; the run keeps its settings.
   */
  private saveSettings(event: CustomEvent<Settings>): void {
    const settings = event.detail;
    this.settings = settings;
    this.settingsSaved = this.settingsSaved
      .then(async () => {
        // The form shows only once the database is open (see `open`).
        await saveSettings(this.db!, settings);
        this.controller?.applySettings(settings);
      })
      .catch((error: unknown) => console.error('The settings could not be saved:', error));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-app': SurgeApp;
  }
}
