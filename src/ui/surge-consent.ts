import { css, html, LitElement } from 'lit';
import { customElement } from 'lit/decorators.js';

/**
 * What will run, asked before anything runs. Fires `surge-consent` when the visitor presses
 * Start; nothing computes before that.
 */
@customElement('surge-consent')
export class SurgeConsent extends LitElement {
  static override styles = css`
    :host { display: block; }
    p { line-height: 1.5; margin: 0 0 0.75rem; }
    button { font: inherit; font-weight: 600; padding: 0.6rem 1.4rem; border-radius: 0.4rem; border: none; background: var(--surge-accent, #2563eb); color: white; cursor: pointer; }
    button:focus-visible { outline: 3px solid var(--surge-focus, #f59e0b); outline-offset: 2px; }
  `;

  override render() {
    return html`
      <section aria-labelledby="consent-title">
        <h2 id="consent-title">Lend your computer's spare power</h2>
        <p>
          When you press Start, this tab runs verified science and machine-learning work units on your
          GPU (WebGPU) or CPU (WebAssembly), and sends the results to the Surge coordinator. Each validated
          result earns credit to a key kept in this browser.
        </p>
        <p>Nothing runs until you press Start. Pause stops computing within a second, and closing the tab stops it.</p>
        <button type="button" @click=${this.consent}>Start contributing</button>
      </section>
    `;
  }

  private consent() {
    this.dispatchEvent(new CustomEvent('surge-consent', { bubbles: true, composed: true }));
  }
}

declare global {
  interface HTMLElementTagNameMap {
    'surge-consent': SurgeConsent;
  }
}
