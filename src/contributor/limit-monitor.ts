import type { Settings } from '../storage/surge-db.ts';

/** Why computing is held back, apart from the visitor's own Pause. */
export type HoldReason = 'hidden' | 'input' | 'battery' | 'pressure';

export interface Hold {
  reason: HoldReason;
  /** A sentence for the page. */
  message: string;
}

export interface BatteryReading {
  /** 0 to 1. */
  level: number;
  charging: boolean;
}

/** Compute Pressure states (https://www.w3.org/TR/compute-pressure/#pressure-states). */
export type PressureState = 'nominal' | 'fair' | 'serious' | 'critical';

/** What the monitor sees, for the page: where an API is missing it says so plainly. */
export interface LimitReadings {
  battery: BatteryReading | 'unsupported' | 'unknown';
  pressure: PressureState | 'unsupported' | 'unknown';
  /** Multiplies the CPU and GPU limits: 0.5 while the system reports serious pressure. */
  backoff: number;
}

export type LimitSettings = Pick<
  Settings,
  'onlyWhenIdle' | 'idleSeconds' | 'pauseWhenHidden' | 'batteryPausePercent' | 'batteryResumePercent' | 'backOffUnderPressure'
>;

/**
 * The battery limit with hysteresis: on battery, pause below the pause level; once paused,
 * resume only at the resume level or when charging, so the client does not flap around one
 * percent.
 */
export function batteryHolds(held: boolean, battery: BatteryReading, settings: LimitSettings): boolean {
  if (battery.charging) return false;
  const percent = battery.level * 100;
  return held ? percent < Math.max(settings.batteryResumePercent, settings.batteryPausePercent) : percent < settings.batteryPausePercent;
}

/** Pressure's effect: pause on critical, half the limits on serious. */
export function pressureEffect(state: PressureReadingState): { hold: boolean; backoff: number } {
  if (state === 'critical') return { hold: true, backoff: 1 };
  return { hold: false, backoff: state === 'serious' ? 0.5 : 1 };
}
type PressureReadingState = LimitReadings['pressure'];

const kInputEvents = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart'] as const;

interface BatteryManagerLike extends EventTarget {
  level: number;
  charging: boolean;
}

interface PressureRecordLike {
  state: PressureState;
}

interface PressureObserverLike {
  observe(source: 'cpu', options?: { sampleInterval?: number }): Promise<void>;
  disconnect(): void;
}

type PressureObserverConstructor = new (callback: (records: PressureRecordLike[]) => void) => PressureObserverLike;

/**
 * Watches what may hold the contribution back: the tab hidden (`visibilitychange`), input on
 * the page (run only when idle), the battery (Battery Status API) and Compute Pressure
 * (`PressureObserver`), each where the browser has it. Fires `change` when the holds or the
 * readings change; `holds` and `readings` say what they are now.
 *
 * @example
 * const monitor = new LimitMonitor(settings);
 * monitor.addEventListener('change', () => console.log(monitor.holds));
 * await monitor.start();
 */
export class LimitMonitor extends EventTarget {
  holds: Hold[] = [];
  readings: LimitReadings = { battery: 'unknown', pressure: 'unknown', backoff: 1 };

  private lastInput = performance.now();
  private batteryHeld = false;
  private battery: BatteryManagerLike | undefined;
  private pressure: PressureObserverLike | undefined;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly abort = new AbortController();

  constructor(private settings: LimitSettings) {
    super();
  }

  async start(): Promise<void> {
    const { signal } = this.abort;
    document.addEventListener('visibilitychange', () => this.evaluate(), { signal });
    const onInput = () => {
      this.lastInput = performance.now();
      if (this.settings.onlyWhenIdle) this.evaluate();
    };
    for (const type of kInputEvents) window.addEventListener(type, onInput, { capture: true, passive: true, signal });
    await Promise.all([this.watchBattery(), this.watchPressure()]);
    this.evaluate();
  }

  stop(): void {
    this.abort.abort();
    clearTimeout(this.idleTimer);
    this.pressure?.disconnect();
  }

  /** New settings apply at once. */
  update(settings: LimitSettings): void {
    this.settings = settings;
    this.evaluate();
  }

  private async watchBattery(): Promise<void> {
    const getBattery = (navigator as Navigator & { getBattery?: () => Promise<BatteryManagerLike> }).getBattery;
    if (typeof getBattery !== 'function') {
      this.readings = { ...this.readings, battery: 'unsupported' };
      return;
    }
    try {
      this.battery = await getBattery.call(navigator);
    } catch {
      this.readings = { ...this.readings, battery: 'unsupported' };
      return;
    }
    for (const type of ['levelchange', 'chargingchange']) this.battery.addEventListener(type, () => this.evaluate(), { signal: this.abort.signal });
  }

  private async watchPressure(): Promise<void> {
    const Observer = (globalThis as { PressureObserver?: PressureObserverConstructor }).PressureObserver;
    if (typeof Observer !== 'function') {
      this.readings = { ...this.readings, pressure: 'unsupported' };
      return;
    }
    try {
      this.pressure = new Observer((records) => {
        const last = records.at(-1);
        if (!last) return;
        this.readings = { ...this.readings, pressure: last.state };
        this.evaluate();
      });
      await this.pressure.observe('cpu', { sampleInterval: 1000 });
    } catch {
      // The API is there but not for this source or context (a permissions policy, say).
      this.readings = { ...this.readings, pressure: 'unsupported' };
    }
  }

  private evaluate(): void {
    const holds: Hold[] = [];
    const settings = this.settings;
    if (settings.pauseWhenHidden && document.visibilityState === 'hidden') {
      holds.push({ reason: 'hidden', message: 'Paused while this tab is hidden (see Settings).' });
    }
    clearTimeout(this.idleTimer);
    if (settings.onlyWhenIdle) {
      const quietMs = performance.now() - this.lastInput;
      const needMs = settings.idleSeconds * 1000;
      if (quietMs < needMs) {
        holds.push({ reason: 'input', message: `Waiting until there has been no input on this page for ${settings.idleSeconds} s (see Settings).` });
        this.idleTimer = setTimeout(() => this.evaluate(), needMs - quietMs + 20);
      }
    }
    let battery = this.readings.battery;
    if (this.battery) {
      battery = { level: this.battery.level, charging: this.battery.charging };
      this.batteryHeld = batteryHolds(this.batteryHeld, battery, settings);
      if (this.batteryHeld) {
        holds.push({
          reason: 'battery',
          message: `Paused on battery at ${Math.round(battery.level * 100)}%: resumes at ${settings.batteryResumePercent}% or when charging.`,
        });
      }
    }
    // Chromium's CPU pressure counts this page's own workers: at a high limit Surge alone reads
    // as serious or critical, and would pause itself in a loop. So it is a setting, on where a
    // device heats up (phones) and off by default on a desktop.
    const effect = settings.backOffUnderPressure ? pressureEffect(this.readings.pressure) : { hold: false, backoff: 1 };
    if (effect.hold) holds.push({ reason: 'pressure', message: 'Paused: the system reports critical CPU pressure.' });
    const readings: LimitReadings = { battery, pressure: this.readings.pressure, backoff: effect.backoff };
    const changed = JSON.stringify([holds, readings]) !== JSON.stringify([this.holds, this.readings]);
    this.holds = holds;
    this.readings = readings;
    if (changed) this.dispatchEvent(new Event('change'));
  }
}
