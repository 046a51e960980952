import { fixture, html } from '@open-wc/testing/pure';
import { describe, expect, it } from 'vitest';
import './surge-consent.ts';
import type { SurgeConsent } from './surge-consent.ts';

describe('<surge-consent>', () => {
  it('says what will run and starts nothing until Start is pressed', async () => {
    const consent = await fixture<SurgeConsent>(html`<surge-consent></surge-consent>`);
    let consented = 0;
    consent.addEventListener('surge-consent', () => consented++);
    const root = consent.shadowRoot!;
    expect(root.querySelector('h2')!.textContent).toBe("Lend your computer's spare power");
    expect(root.textContent).toContain('Nothing runs until you press Start');
    expect(consented).toBe(0);
    root.querySelector('button')!.click();
    expect(consented).toBe(1);
  });
});
