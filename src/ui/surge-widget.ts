import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import type { ContributorController, ContributorSnapshot } from '../contributor/contributor-controller.ts';
import { reasonNotToStart } from '../embed/device-check.ts';
import {
  kPartnerSource,
  kProtocolVersion,
  kWidgetSource,
  type WidgetCommandMessage,
  type WidgetEventDetails,
  type WidgetEventType,
} from '../embed/embed-protocol.ts';
import { kConsentDays, loadConsent, saveConsent, withdrawConsent } from '../embed/widget-consent.ts';

/** The widget's CPU limit unless the visitor picks another: a quarter of one worker's time. */
export const kWidgetCpuLimitPercent = 25;
const kCpuChoices = [10, 25, 50] as const;
const kCpuKey = 'surge.widget.cpu';
/** Progress events go to the partner page at most this often. */
const kProgressEveryMs = 1000;

type Phase = 'checking' | 'ask' | 'running' | 'refused';

/**
 * The embedded widget, in an iframe on the Surge origin (widget.html): consent first, then a
 * meter with Pause, Stop (which forgets the yes) and settings. It computes on one WASM worker
 * under a low CPU limit, for `partner`, and talks to the partner page at `partnerOrigin` only
 * through the postMessage API of `embed-protocol.ts`. No wallet code runs here: the visitor's
 * wallet is asked on Surge's own page, opened as a top-level window.
 */
@customElement('surge-widget')
export class SurgeWidget extends LitElement {
  @property() partner = '';
  /** The origin of the page that embeds the widget: events go only there, commands come only from there. */
  @property() partnerOrigin = '';
  @state() private phase: Phase = 'checking';
  @state() private snapshot?: ContributorSnapshot;
  @state() private holdReason?: string;
  @state() private settingsOpen = false;
  @state() private pausedBy?: 'visitor' | 'partner';
  @state() private cpuLimit = readCpuLimit();
  @state() private refusal = '';
  private controller?: ContributorController;
  private lastProgressAt = 0;
  private lastCredit = '';
  private lastState = '';
  private resizeObserver?: ResizeObserver;
  /** Set once the embedding is checked: until then nothing is posted anywhere. */
  private verified = false;

  static override styles = css`
    :host { display: block; font: 14px/1.4 system-ui, sans-serif; padding: 0.75rem; border: 1px solid var(--surge-border, #d1d5db); border-radius: 0.5rem; background: var(--surge-bg, #fff); color: var(--surge-fg, #111827); }
    @media (prefers-color-scheme: dark) { :host { --surge-bg: #111827; --surge-fg: #f3f4f6; --surge-border: #374151; --surge-muted: #9ca3af; } }
    h2 { font-size: 1rem; margin: 0 0 0.4rem; }
    p { margin: 0 0 0.5rem; }
    .muted { color: var(--surge-muted, #4b5563); font-size: 0.85rem; }
    .row { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
    button { font: inherit; font-weight: 600; padding: 0.35rem 0.9rem; border-radius: 0.35rem; border: 2px solid var(--surge-accent, #2563eb); background: transparent; color: inherit; cursor: pointer; }
    button.primary { background: var(--surge-accent, #2563eb); color: #fff; }
    button:focus-visible, select:focus-visible { outline: 3px solid var(--surge-focus, #f59e0b); outline-offset: 2px; }
    progress { width: 100%; height: 0.8rem; }
    dl { display: grid; grid-template-columns: repeat(3, 1fr); margin: 0.4rem 0; text-align: center; }
    dt { font-size: 0.75rem; color: var(--surge-muted, #4b5563); }
    dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
    .notice { font-size: 0.85rem; border-left: 3px solid var(--surge-focus, #f59e0b); padding-left: 0.5rem; }
  `;

  override connectedCallback() {
    super.connectedCallback();
    addEventListener('message', this.onMessage);
    this.resizeObserver = new ResizeObserver(() => this.emit('resize', { height: this.getBoundingClientRect().height + 2 }));
    this.resizeObserver.observe(this);
    void this.begin();
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    removeEventListener('message', this.onMessage);
    this.resizeObserver?.disconnect();
    void this.controller?.stop();
  }

  private async begin() {
    const refusal = checkEmbedding(this.partner, this.partnerOrigin);
    if (refusal) {
      this.refusal = refusal;
      this.phase = 'refused';
      return;
    }
    this.verified = true;
    this.holdReason = await reasonNotToStart();
    const consent = loadConsent(this.partnerOrigin);
    this.emit('ready', { consented: consent !== undefined });
    // A remembered yes starts by itself, except where the device says not to by default.
    if (consent && !this.holdReason) await this.start();
    else this.phase = 'ask';
  }

  override render() {
    switch (this.phase) {
      case 'checking':
        return html`<p class="muted">Surge…</p>`;
      case 'refused':
        return html`<p class="notice" role="alert">${this.refusal}</p>`;
      case 'ask':
        return this.renderConsent();
      case 'running':
        return this.renderRunning();
    }
  }

  private renderConsent() {
    const surge = location.host;
    return html`
      <section aria-labelledby="t">
        <h2 id="t">Lend spare computing power?</h2>
        <p>
          If you press Start, this page runs verified science and machine-learning work units for Surge (${surge}) in the
          background: one WebAssembly worker, using at most ${this.cpuLimit}% of one CPU core, with results sent to ${surge}.
          The work is credited to ${this.partner}.
        </p>
        <p class="muted">Nothing runs until you press Start. Pause or Stop at any time here; closing the page stops it too. Your yes is remembered on this site for ${kConsentDays} days.</p>
        ${this.holdReason ? html`<p class="notice" data-testid="hold-reason">${this.holdReason}</p>` : nothing}
        <button type="button" class="primary" @click=${this.consent}>${this.holdReason ? 'Start anyway' : 'Start'}</button>
      </section>
    `;
  }

  private renderRunning() {
    const s = this.snapshot;
    const unit = s?.units[0];
    const paused = s?.state === 'paused';
    const label = !s
      ? 'Starting…'
      : paused
        ? this.pausedBy === 'partner'
          ? 'Paused by this site'
          : 'Paused'
        : (
            {
              idle: 'Stopped',
              starting: 'Starting…',
              running: 'Computing',
              waiting: 'Waiting for work',
              error: 'Stopped by an error',
              paused: 'Paused',
              held: 'Held back by a limit',
              standby: 'Another tab is contributing',
            } as const
          )[s.state];
    return html`
      <section aria-label="Surge contribution">
        <div class="row"><strong role="status" data-testid="widget-state">${label}</strong><span class="muted">CPU limit ${this.cpuLimit}%</span></div>
        <progress aria-label="Current work unit" max="1" .value=${unit?.progress ?? 0}></progress>
        <dl>
          <div><dt>Units done</dt><dd data-testid="units-done">${s?.submitted ?? 0}</dd></div>
          <div><dt>Validated</dt><dd data-testid="validated">${s?.validated ?? 0}</dd></div>
          <div><dt>Credit</dt><dd data-testid="credit">${s?.credit ?? '0'}</dd></div>
        </dl>
        ${s?.notice ? html`<p class="notice">${s.notice}</p>` : nothing}
        <div class="row">
          ${paused ? html`<button type="button" class="primary" @click=${this.resume}>Resume</button>` : html`<button type="button" class="primary" @click=${this.pause}>Pause</button>`}
          <button type="button" @click=${this.withdraw}>Stop and forget my yes</button>
          <button type="button" aria-expanded=${this.settingsOpen} @click=${() => {
            this.settingsOpen = !this.settingsOpen;
          }}>Settings</button>
        </div>
        ${this.settingsOpen ? this.renderSettings() : nothing}
      </section>
    `;
  }

  private renderSettings() {
    return html`
      <div class="row" style="margin-top: 0.5rem">
        <label>CPU limit
          <select @change=${this.changeCpuLimit}>
            ${kCpuChoices.map((p) => html`<option value=${p} ?selected=${p === this.cpuLimit}>${p}%</option>`)}
          </select>
        </label>
        <button type="button" @click=${this.openSurge}>Wallet and receipts on ${location.host} ↗</button>
      </div>
      <p class="muted">A new limit applies the next time it starts.</p>
    `;
  }

  private async consent() {
    const consent = saveConsent(this.partnerOrigin, this.partner);
    this.emit('consent', { expiresAt: consent.expiresAt });
    await this.start();
  }

  private async start() {
    this.phase = 'running';
    // The compute code loads only now, after the yes.
    const [{ ContributorController }, { openSurgeDb }] = await Promise.all([
      import('../contributor/contributor-controller.ts'),
      import('../storage/surge-db.ts'),
    ]);
    const controller = new ContributorController({
      coordinatorUrl: location.origin,
      db: await openSurgeDb(),
      partner: this.partner,
      settings: { backend: 'wasm', cpuWorkers: 1, cpuLimit: this.cpuLimit },
    });
    this.controller = controller;
    controller.addEventListener('change', () => {
      // A controller being stopped after a withdrawal reports nothing more.
      if (controller === this.controller) this.changed(controller.snapshot);
    });
    await controller.start();
  }

  private changed(snapshot: ContributorSnapshot) {
    this.snapshot = snapshot;
    if (snapshot.state !== this.lastState) {
      // Running and waiting for work are both "on"; starting, paused and stopped are not.
      const on = (state: string) => state === 'running' || state === 'waiting';
      if (on(snapshot.state) && !on(this.lastState)) this.emit('started', { cpuLimitPercent: this.cpuLimit });
      if (snapshot.state === 'paused') this.emit('paused', { by: this.pausedBy ?? 'visitor' });
      this.lastState = snapshot.state;
    }
    const now = Date.now();
    if (now - this.lastProgressAt >= kProgressEveryMs) {
      this.lastProgressAt = now;
      this.emit('progress', { unitsDone: snapshot.submitted, unitProgress: snapshot.units[0]?.progress ?? 0, state: snapshot.state });
    }
    const credit = `${snapshot.validated}:${snapshot.credit}`;
    if (credit !== this.lastCredit && snapshot.validated > 0) {
      this.lastCredit = credit;
      this.emit('credit', { validated: snapshot.validated, credit: snapshot.credit });
    }
  }

  private pause(by: 'visitor' | 'partner' = 'visitor') {
    this.pausedBy = by;
    this.controller?.pause();
  }

  private resume() {
    this.pausedBy = undefined;
    this.controller?.resume();
  }

  private async withdraw() {
    withdrawConsent(this.partnerOrigin);
    const controller = this.controller;
    this.controller = undefined;
    this.snapshot = undefined;
    this.lastState = '';
    this.phase = 'ask';
    this.emit('withdrawn', {});
    await controller?.stop();
  }

  private changeCpuLimit(event: Event) {
    this.cpuLimit = Number((event.target as HTMLSelectElement).value);
    localStorage.setItem(kCpuKey, String(this.cpuLimit));
    // Applied at once to the running contribution, from its next step.
    this.controller?.overrideSettings({ cpuLimit: this.cpuLimit });
  }

  /** The wallet is asked on Surge's own page, top level, never inside a third-party frame. */
  private openSurge() {
    window.open(`${location.origin}/`, '_blank', 'noopener');
  }

  private readonly onMessage = (event: MessageEvent) => {
    const message = event.data as WidgetCommandMessage;
    // Only the parent window, on the partner origin the widget was given, may command it.
    if (event.source !== window.parent || event.origin !== this.partnerOrigin || message?.source !== kPartnerSource) return;
    if (message.command === 'pause' && this.controller) this.pause('partner');
    // Resume continues what the visitor started; it never starts without the visitor's yes.
    if (message.command === 'resume' && this.controller && loadConsent(this.partnerOrigin)) this.resume();
    if (message.command === 'open-settings' && this.phase === 'running') this.settingsOpen = true;
  };

  private emit<T extends WidgetEventType>(type: T, detail: WidgetEventDetails[T]) {
    if (!this.verified || window.parent === window) return;
    window.parent.postMessage({ source: kWidgetSource, version: kProtocolVersion, type, detail }, this.partnerOrigin);
  }
}

function readCpuLimit(): number {
  const stored = Number(localStorage.getItem(kCpuKey));
  return (kCpuChoices as readonly number[]).includes(stored) ? stored : kWidgetCpuLimitPercent;
}

/** Why the widget refuses to run in this frame, or undefined. */
function checkEmbedding(partner: string, partnerOrigin: string): string | undefined {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(partner)) return 'This widget was embedded without a valid partner id (data-partner).';
  let origin: string | undefined;
  try {
    origin = new URL(partnerOrigin).origin;
  } catch {}
  if (origin !== partnerOrigin) return 'This widget was embedded without the page origin it needs; embed it with embed.js.';
  // Chromium tells a frame who embeds it: a page that claims another origin is refused.
  const ancestor = location.ancestorOrigins?.[0];
  const parentOrigin = window.parent === window ? location.origin : ancestor;
  if (parentOrigin && parentOrigin !== 'null' && parentOrigin !== partnerOrigin) {
    return `This widget says it is on ${partnerOrigin} but is shown on ${parentOrigin}; it will not run.`;
  }
  return undefined;
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-widget': SurgeWidget;
  }
}
