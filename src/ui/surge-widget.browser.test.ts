import { afterEach, describe, expect, it } from 'vitest';
import { kConsentDays, loadConsent, saveConsent, withdrawConsent } from '../embed/widget-consent.ts';
import './surge-widget.ts';
import type { SurgeWidget } from './surge-widget.ts';

async function mount(partner: string, partnerOrigin: string): Promise<SurgeWidget> {
  const el = document.createElement('surge-widget');
  el.partner = partner;
  el.partnerOrigin = partnerOrigin;
  document.body.append(el);
  await el.updateComplete;
  return el;
}

const text = (el: SurgeWidget) => el.shadowRoot!.textContent!.replace(/\s+/g, ' ');

async function settled(el: SurgeWidget): Promise<void> {
  for (let i = 0; i < 50 && text(el).includes('Surge…'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  await el.updateComplete;
}

afterEach(() => {
  localStorage.clear();
  for (const el of document.querySelectorAll('surge-widget')) el.remove();
});

describe('surge-widget', () => {
  it('asks first: says what runs, the limit and how to stop, and offers Start', async () => {
    const el = await mount('news-site', location.origin);
    await settled(el);
    const shown = text(el);
    expect(shown).toContain('Lend spare computing power?');
    expect(shown).toContain('at most 25% of one CPU core');
    expect(shown).toContain('credited to news-site');
    expect(shown).toContain('Nothing runs until you press Start');
    expect(shown).toContain(`remembered on this site for ${kConsentDays} days`);
    expect([...el.shadowRoot!.querySelectorAll('button')].map((b) => b.textContent!.trim())).toEqual(['Start']);
    expect(el.shadowRoot!.querySelector('progress')).toBeNull();
  });

  it('does not start by itself on battery, even with a remembered yes, and says why', async () => {
    const getBattery = (navigator as unknown as { getBattery?: unknown }).getBattery;
    Object.defineProperty(navigator, 'getBattery', { configurable: true, value: async () => ({ charging: false, level: 0.8 }) });
    try {
      saveConsent(location.origin, 'news-site');
      const el = await mount('news-site', location.origin);
      await settled(el);
      expect(el.shadowRoot!.querySelector('[data-testid="hold-reason"]')?.textContent).toContain('on battery');
      expect([...el.shadowRoot!.querySelectorAll('button')].map((b) => b.textContent!.trim())).toEqual(['Start anyway']);
      expect(el.shadowRoot!.querySelector('[data-testid="widget-state"]')).toBeNull();
    } finally {
      Object.defineProperty(navigator, 'getBattery', { configurable: true, value: getBattery });
    }
  });

  it('refuses to run without a valid partner id or page origin', async () => {
    const noPartner = await mount('', location.origin);
    await settled(noPartner);
    expect(text(noPartner)).toContain('without a valid partner id');
    const badOrigin = await mount('news-site', 'https://x.example/path');
    await settled(badOrigin);
    expect(text(badOrigin)).toContain('without the page origin');
    expect(badOrigin.shadowRoot!.querySelector('button')).toBeNull();
  });
});

describe('widget consent', () => {
  it('is remembered per partner origin, expires after 30 days, and is withdrawn', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    saveConsent('https://a.example', 'a', now);
    expect(loadConsent('https://a.example', now + 29 * 86_400_000)?.partner).toBe('a');
    expect(loadConsent('https://a.example', now + 30 * 86_400_000 + 1)).toBeUndefined();
    expect(loadConsent('https://b.example', now)).toBeUndefined();
    withdrawConsent('https://a.example');
    expect(loadConsent('https://a.example', now)).toBeUndefined();
  });
});
