import { css, html, LitElement, nothing } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { createPublicClient, formatUnits, http } from 'viem';
import type { ContributorController, ContributorSnapshot } from '../contributor/contributor-controller.ts';
import { CoordinatorClient } from '../contributor/coordinator-client.ts';
import { errorMessage } from '../errors/surge-error.ts';
import type { InfoResponse } from '../protocol/schemas.ts';
import type { StoredSession, SurgeDb } from '../storage/surge-db.ts';
import { claimRewards, fetchRewards, type Rewards, readClaimed } from '../wallet/claim-rewards.ts';
import { exportOwnerKey, loadOrCreateOwnerKey } from '../wallet/owner-key.ts';
import { currentSession, revokeCurrentSession } from '../wallet/session-keys.ts';
import { type ConnectedWallet, connectWallet, createWalletSession, linkOwnerToWallet } from '../wallet/wallet-connection.ts';
import { discoverWallets, type WalletChoice } from '../wallet/wallet-discovery.ts';

/**
 * The wallet panel, loaded only when the visitor opens it (`import()` from surge-app): pick a
 * wallet found by EIP-6963 and sign one session grant, see credit pending, validated,
 * claimable and claimed, claim, revoke the session, and export or link this browser's key.
 */
@customElement('surge-wallet')
export class SurgeWallet extends LitElement {
  @property() coordinator = location.origin;
  @property({ attribute: false }) db?: SurgeDb;
  @property({ attribute: false }) controller?: ContributorController;
  @property({ attribute: false }) snapshot?: ContributorSnapshot;

  @state() private wallets?: WalletChoice[];
  @state() private wallet?: ConnectedWallet;
  @state() private session?: StoredSession;
  @state() private browserOwner?: string;
  @state() private rewards?: Rewards;
  @state() private claimed?: bigint;
  @state() private busy = false;
  @state() private message?: string;
  @state() private exportWarning = false;
  @state() private exportedKey?: string;
  private info?: InfoResponse;

  static override styles = css`
    :host { display: block; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1rem; margin: 1rem 0; }
    dt { color: var(--surge-muted, #555); }
    dd { margin: 0; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
    ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 0.5rem; }
    img { width: 1.2rem; height: 1.2rem; vertical-align: middle; margin-right: 0.4rem; }
    .warning { padding: 0.5rem 0.75rem; border-left: 4px solid #dc2626; background: var(--surge-notice-bg, #fef2f2); }
    .notice { padding: 0.5rem 0.75rem; border-left: 4px solid var(--surge-focus, #f59e0b); background: var(--surge-notice-bg, #fffbeb); }
    code { overflow-wrap: anywhere; }
    button { font: inherit; font-weight: 600; padding: 0.4rem 1rem; border-radius: 0.4rem; border: 2px solid currentColor; background: transparent; color: inherit; cursor: pointer; }
    button:disabled { opacity: 0.5; cursor: default; }
    button:focus-visible { outline: 3px solid var(--surge-focus, #f59e0b); outline-offset: 2px; }
  `;

  private get client(): CoordinatorClient {
    return new CoordinatorClient(this.coordinator);
  }

  override async connectedCallback() {
    super.connectedCallback();
    const [wallets, info] = await Promise.all([discoverWallets(), this.client.info()]);
    this.wallets = wallets;
    this.info = info;
    if (this.db) {
      this.session = await currentSession(this.db);
      this.browserOwner = (await loadOrCreateOwnerKey(this.db)).address;
    }
  }

  override render() {
    const s = this.snapshot;
    const owner = this.session?.owner ?? s?.owner ?? this.browserOwner;
    return html`
      <h2>Wallet</h2>
      ${this.message ? html`<p class="notice" role="status" data-testid="wallet-message">${this.message}</p>` : nothing}
      <dl>
        <dt>Earning for</dt>
        <dd data-testid="wallet-owner">${owner ?? '—'} ${this.session?.wallet ? html`(${this.session.wallet})` : owner ? "(this browser's own key)" : nothing}</dd>
        <dt>Pending</dt>
        <dd data-testid="credit-pending">${s?.waitingResults ?? 0} results waiting to be validated</dd>
        <dt>Validated</dt>
        <dd data-testid="credit-validated">${s?.credit ?? '0'} credit (${s?.validated ?? 0} results)</dd>
        <dt>Claimable</dt>
        <dd data-testid="credit-claimable">${this.claimableText()}</dd>
        <dt>Claimed</dt>
        <dd data-testid="credit-claimed">${this.claimed === undefined ? '—' : this.tokens(this.claimed)}</dd>
      </dl>
      ${this.renderConnect()}
      <p>
        ${this.wallet && this.info?.rewards ? html`<button type="button" ?disabled=${this.busy} @click=${this.refreshRewards}>Check rewards</button>` : nothing}
        ${this.claimable() > 0n ? html`<button type="button" ?disabled=${this.busy} @click=${this.claim}>Claim</button>` : nothing}
        ${this.session ? html`<button type="button" ?disabled=${this.busy} @click=${this.revoke}>Revoke this session</button>` : nothing}
      </p>
      ${this.renderBrowserKey()}
    `;
  }

  private renderConnect() {
    if (this.wallet) return html`<p data-testid="wallet-connected">Connected: ${this.wallet.choice.name} (${this.wallet.address})</p>`;
    if (!this.wallets) return html`<p>Looking for wallets…</p>`;
    if (this.wallets.length === 0)
      return html`<p data-testid="no-wallet">No wallet found in this browser: this browser's own key earns, and you can export it below.</p>`;
    return html`<ul aria-label="Wallets found">
      ${this.wallets.map(
        (choice) =>
          html`<li><button type="button" ?disabled=${this.busy} @click=${() => this.connect(choice)}>
            ${choice.icon ? html`<img src=${choice.icon} alt="" />` : nothing}Connect ${choice.name}
          </button></li>`,
      )}
    </ul>`;
  }

  private renderBrowserKey() {
    return html`<section aria-label="This browser's key">
      <h3>This browser's key</h3>
      <p>Without a wallet, a key made in this browser earns: <code data-testid="browser-owner">${this.browserOwner ?? '—'}</code>.</p>
      ${this.wallet ? html`<button type="button" ?disabled=${this.busy} @click=${this.link}>Link this browser's key to ${this.wallet.choice.name}</button>` : nothing}
      ${
        this.exportedKey
          ? html`<p class="warning" role="alert">Anyone with this private key can take what it earned. Keep it secret; never paste it into a website.</p>
            <p><code data-testid="exported-key">${this.exportedKey}</code> <button type="button" @click=${this.copyKey}>Copy</button></p>`
          : this.exportWarning
            ? html`<p class="warning" role="alert">The private key gives full control of this browser's earnings. Show it only to save it somewhere safe (a password manager or a wallet's import).</p>
              <button type="button" @click=${this.showKey}>Show the private key</button>
              <button type="button" @click=${() => (this.exportWarning = false)}>Cancel</button>`
            : html`<button type="button" @click=${() => (this.exportWarning = true)}>Export this browser's key…</button>`
      }
    </section>`;
  }

  private claimable(): bigint {
    if (!this.rewards || this.claimed === undefined || this.rewards.activeAt.getTime() > Date.now()) return 0n;
    return this.rewards.cumulative > this.claimed ? this.rewards.cumulative - this.claimed : 0n;
  }

  private claimableText(): string {
    if (!this.info?.rewards) return 'rewards are not configured on this coordinator';
    if (!this.wallet) return 'connect a wallet to see';
    if (!this.rewards) return 'nothing in a posted epoch yet';
    if (this.rewards.activeAt.getTime() > Date.now()) return `${this.tokens(this.rewards.cumulative)} from ${this.rewards.activeAt.toLocaleString()}`;
    return this.tokens(this.claimable());
  }

  private tokens(amount: bigint): string {
    return `${formatUnits(amount, 18)} tokens`;
  }

  /** Runs one action, showing its failure on the panel instead of losing it. */
  private async act(action: () => Promise<string | undefined>) {
    this.busy = true;
    try {
      this.message = await action();
    } catch (error) {
      this.message = errorMessage(error);
    } finally {
      this.busy = false;
    }
  }

  private connect(choice: WalletChoice) {
    return this.act(async () => {
      const wallet = await connectWallet(choice);
      const session = await createWalletSession({ db: this.db!, client: this.client, wallet, chainId: this.info!.domain.chainId });
      this.wallet = wallet;
      this.session = session;
      this.controller?.adoptSession(session);
      await this.refreshRewards();
      return `${choice.name} signed this session: results from now on earn for ${wallet.address}.`;
    });
  }

  private refreshRewards = async () => {
    const rewards = this.info?.rewards;
    if (!rewards || !this.wallet) return;
    this.rewards = await fetchRewards(this.coordinator, this.wallet.address);
    const publicClient = createPublicClient({ transport: http(rewards.rpcUrl) });
    this.claimed = await readClaimed(publicClient, (this.rewards?.distributor ?? rewards.distributor) as `0x${string}`, this.wallet.address);
  };

  private claim() {
    return this.act(async () => {
      const hash = await claimRewards(this.wallet!.client, this.rewards!);
      await this.refreshRewards();
      return `Claim sent: transaction ${hash}.`;
    });
  }

  private revoke() {
    return this.act(async () => {
      const revoked = await revokeCurrentSession({ db: this.db!, client: this.client, chainId: this.info!.domain.chainId });
      this.session = undefined;
      this.controller?.adoptSession(undefined);
      return revoked ? `Session ${revoked.address} is revoked: the coordinator refuses its results from now on.` : undefined;
    });
  }

  private link() {
    return this.act(async () => {
      const linked = await linkOwnerToWallet({ db: this.db!, client: this.client, wallet: this.wallet!, chainId: this.info!.domain.chainId });
      return `This browser's key ${linked.owner} is linked to ${linked.wallet}: what it earns from now on is paid to the wallet; what it earned before stays claimable with the key.`;
    });
  }

  private async showKey() {
    this.exportedKey = await exportOwnerKey(this.db!);
  }

  private async copyKey() {
    await navigator.clipboard.writeText(this.exportedKey!);
    this.message = 'Copied. Clear your clipboard once the key is saved.';
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-wallet': SurgeWallet;
  }
}
