import { describe, expect, it } from 'vitest';
import { defaultSettings } from '../storage/surge-db.ts';
import { deviceDefaults, isMobileDevice } from './device-defaults.ts';
import { batteryHolds, pressureEffect } from './limit-monitor.ts';

const settings = { ...defaultSettings, batteryPausePercent: 20, batteryResumePercent: 30 };

describe('the battery limit', () => {
  it('pauses below the pause level and resumes only at the resume level (hysteresis)', () => {
    let held = false;
    const levels = [0.5, 0.21, 0.19, 0.25, 0.29, 0.3, 0.25, 0.19];
    const seen = levels.map((level) => (held = batteryHolds(held, { level, charging: false }, settings)));
    expect(seen).toEqual([false, false, true, true, true, false, false, true]);
  });

  it('never holds while charging', () => {
    expect(batteryHolds(true, { level: 0.05, charging: true }, settings)).toBe(false);
  });

  it('resumes at the pause level when the resume level is set below it', () => {
    expect(batteryHolds(true, { level: 0.2, charging: false }, { ...settings, batteryResumePercent: 10 })).toBe(false);
  });
});

describe('Compute Pressure', () => {
  it('halves the limits on serious and pauses on critical', () => {
    expect(pressureEffect('nominal')).toEqual({ hold: false, backoff: 1 });
    expect(pressureEffect('fair')).toEqual({ hold: false, backoff: 1 });
    expect(pressureEffect('serious')).toEqual({ hold: false, backoff: 0.5 });
    expect(pressureEffect('critical')).toEqual({ hold: true, backoff: 1 });
    expect(pressureEffect('unsupported')).toEqual({ hold: false, backoff: 1 });
  });
});

describe('device defaults', () => {
  const nav = (userAgent: string, mobile?: boolean) => ({ userAgent, ...(mobile === undefined ? {} : { userAgentData: { mobile } }) }) as unknown as Navigator;

  it('knows a phone by its client hints, else by its user agent', () => {
    expect(isMobileDevice(nav('Mozilla/5.0 (X11; Linux x86_64)', true))).toBe(true);
    expect(isMobileDevice(nav('Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile', false))).toBe(false);
    expect(isMobileDevice(nav('Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)'))).toBe(true);
    expect(isMobileDevice(nav('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)'))).toBe(false);
  });

  it('asks less of a phone: a lower CPU limit, one worker, a pause when hidden', () => {
    expect(deviceDefaults(true)).toMatchObject({ cpuLimit: 25, cpuWorkers: 1, pauseWhenHidden: true, backOffUnderPressure: true });
    expect(deviceDefaults(false)).toEqual(defaultSettings);
  });
});
