/**
 * The visitor's yes, remembered per partner origin in the Surge origin's localStorage (the
 * partner page cannot read it), for 30 days. Withdrawing forgets it.
 */
export const kConsentDays = 30;

export interface WidgetConsent {
  partner: string;
  givenAt: string;
  expiresAt: string;
}

const key = (partnerOrigin: string) => `surge.widget.consent:${partnerOrigin}`;

/** The remembered consent for this partner origin, or undefined when none or expired. */
export function loadConsent(partnerOrigin: string, now = Date.now()): WidgetConsent | undefined {
  try {
    const stored = JSON.parse(localStorage.getItem(key(partnerOrigin)) ?? 'null') as WidgetConsent | null;
    if (!stored || !(Date.parse(stored.expiresAt) > now)) return undefined;
    return stored;
  } catch {
    return undefined;
  }
}

export function saveConsent(partnerOrigin: string, partner: string, now = Date.now()): WidgetConsent {
  const consent = { partner, givenAt: new Date(now).toISOString(), expiresAt: new Date(now + kConsentDays * 86_400_000).toISOString() };
  localStorage.setItem(key(partnerOrigin), JSON.stringify(consent));
  return consent;
}

export function withdrawConsent(partnerOrigin: string): void {
  localStorage.removeItem(key(partnerOrigin));
}
