import { css, html, LitElement, nothing } from 'lit';
import { customElement, property } from 'lit/decorators.js';
import type { AcceptedReceipt } from '../storage/surge-db.ts';

/** Rows shown; the export always has every receipt. */
const kShownRows = 10;

/** What the export downloads: every receipt with what it proves and for whom. */
export interface ReceiptsExport {
  format: 'surge-receipts';
  version: 1;
  coordinator?: string;
  owner?: string;
  exportedAt: string;
  receipts: AcceptedReceipt[];
}

export const kReceiptsFileName = 'surge-receipts.json';

function shortHex(hex: string): string {
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}

/**
 * The visitor's receipts: results the coordinator validated, each with its countersignature
 * (the proof of credit earned), newest first, and an export of all of them as a JSON file.
 */
@customElement('surge-receipts')
export class SurgeReceipts extends LitElement {
  @property({ attribute: false }) receipts: readonly AcceptedReceipt[] = [];
  @property() owner?: string;
  @property() coordinator?: string;

  static override styles = css`
    :host { display: block; }
    .table { overflow-x: auto; }
    table { table-layout: auto; }
    table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
    caption { caption-side: top; text-align: left; white-space: normal; color: var(--surge-muted, #4b5563); padding-bottom: 0.5rem; }
    th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid var(--surge-border, #d1d5db); white-space: nowrap; }
    td.number, th.number { text-align: right; }
    p { color: var(--surge-muted, #4b5563); }
    button { font: inherit; padding: 0.4rem 1rem; border-radius: 0.4rem; border: 2px solid currentColor; background: transparent; color: inherit; cursor: pointer; margin-top: 0.75rem; }
    button:disabled { opacity: 0.6; cursor: not-allowed; }
    button:focus-visible { outline: 3px solid var(--surge-focus, #f59e0b); outline-offset: 2px; }
  `;

  override render() {
    const sorted = [...this.receipts].sort((a, b) => b.acceptedAt.localeCompare(a.acceptedAt));
    const shown = sorted.slice(0, kShownRows);
    return html`
      ${
        sorted.length === 0
          ? html`<p>No receipts yet: each validated result adds one, countersigned by the coordinator.</p>`
          : html`<div class="table" tabindex="0" role="region" aria-label="Receipts table">
              <table>
                <caption>
                  ${sorted.length} ${sorted.length === 1 ? 'receipt' : 'receipts'}, countersigned by the coordinator${sorted.length > kShownRows ? `; the newest ${kShownRows} shown` : ''}
                </caption>
                <thead><tr><th scope="col">Accepted</th><th scope="col">Lease</th><th scope="col" class="number">Credit</th></tr></thead>
                <tbody>
                  ${shown.map(
                    (r) => html`<tr data-testid="receipt">
                      <td><time datetime=${r.acceptedAt} title=${new Date(r.acceptedAt).toLocaleString()}>${new Date(r.acceptedAt).toLocaleTimeString()}</time></td>
                      <td><code title=${r.lease}>${shortHex(r.lease)}</code></td>
                      <td class="number">${r.credit}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`
      }
      <button type="button" ?disabled=${sorted.length === 0} @click=${this.export}>Export receipts (JSON)</button>
      ${sorted.length === 0 ? nothing : html`<p>The file holds every receipt with its countersignature, to check or keep.</p>`}
    `;
  }

  /** Downloads every receipt as `surge-receipts.json`. */
  export(): void {
    const file: ReceiptsExport = {
      format: 'surge-receipts',
      version: 1,
      ...(this.coordinator ? { coordinator: this.coordinator } : {}),
      ...(this.owner ? { owner: this.owner } : {}),
      exportedAt: new Date().toISOString(),
      receipts: [...this.receipts],
    };
    const url = URL.createObjectURL(new Blob([JSON.stringify(file, null, 2)], { type: 'application/json' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = kReceiptsFileName;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-receipts': SurgeReceipts;
  }
}
