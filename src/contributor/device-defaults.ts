import { defaultSettings, type Settings } from '../storage/surge-db.ts';

/**
 * Whether this looks like a phone or tablet: User-Agent Client Hints where the browser has
 * them (`navigator.userAgentData.mobile`, Chromium), else the user agent string.
 */
export function isMobileDevice(nav: Navigator = navigator): boolean {
  const hints = (nav as Navigator & { userAgentData?: { mobile?: boolean } }).userAgentData;
  if (typeof hints?.mobile === 'boolean') return hints.mobile;
  return /Android|iPhone|iPad|iPod|Mobi/i.test(nav.userAgent);
}

/**
 * Defaults for this device: on a phone a quarter of one core, a hidden tab pauses (it drains
 * the battery unseen), and computing backs off under CPU pressure (a phone heats up).
 */
export function deviceDefaults(mobile = isMobileDevice()): Settings {
  return mobile ? { ...defaultSettings, cpuLimit: 25, gpuLimit: 25, cpuWorkers: 1, pauseWhenHidden: true, backOffUnderPressure: true } : defaultSettings;
}
