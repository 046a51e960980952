/**
 * The postMessage API between the widget (an iframe on the Surge origin) and the partner page
 * that embeds it. Types only, so `embed.js` stays tiny. Documented in the README ("Embed
 * Surge on your site").
 *
 * The widget posts events only to the partner origin it was given (`targetOrigin`, so a page
 * on another origin never receives them), and obeys a command only when it comes from its
 * parent window on that origin. embed.js accepts events only from the Surge origin and from its
 * own iframe.
 */

/** Marks a message as Surge's, so both sides ignore other scripts' messages. */
export const kWidgetSource = 'surge-widget';
export const kPartnerSource = 'surge-partner';
export const kProtocolVersion = 1;

export interface WidgetEventDetails {
  /** The widget is loaded; `consented` when the visitor's yes is remembered for this site. */
  ready: { consented: boolean };
  /** The visitor said yes (remembered until `expiresAt`). */
  consent: { expiresAt: string };
  /** The visitor withdrew consent: computing stopped and the yes is forgotten. */
  withdrawn: Record<string, never>;
  /** Computing started or resumed. */
  started: { cpuLimitPercent: number };
  /** Computing paused, by the visitor or by the partner page. */
  paused: { by: 'visitor' | 'partner' };
  /** At most once a second while computing: units done, the current unit's progress (0 to 1). */
  progress: { unitsDone: number; unitProgress: number; state: string };
  /** Validated results and credit earned through this widget's session, as the coordinator counts them. */
  credit: { validated: number; credit: string };
  /** The widget's content height in CSS pixels, so embed.js can size the iframe. */
  resize: { height: number };
}

export type WidgetEventType = keyof WidgetEventDetails;

export interface WidgetEventMessage<T extends WidgetEventType = WidgetEventType> {
  source: typeof kWidgetSource;
  version: typeof kProtocolVersion;
  type: T;
  detail: WidgetEventDetails[T];
}

/** Commands the partner page may send. None can give consent: only the visitor's click does. */
export type WidgetCommand = 'pause' | 'resume' | 'open-settings';

export interface WidgetCommandMessage {
  source: typeof kPartnerSource;
  version: typeof kProtocolVersion;
  command: WidgetCommand;
}
