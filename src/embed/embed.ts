/**
 * embed.js: the partner's one script tag. It draws the Surge widget, an iframe on the Surge
 * origin, and relays its events; it computes nothing and loads nothing else. Built on its own
 * (vite.embed.config.ts) to `dist/embed.js`, with no dependencies.
 *
 * @example
 * <script src="https://surge.example/embed.js" data-partner="my-site" async></script>
 * // or, by hand:
 * const widget = Surge.mount(document.querySelector('#surge'), { partner: 'my-site', onEvent: (type, detail) => … });
 * widget.pause();
 */
import {
  kPartnerSource,
  kProtocolVersion,
  kWidgetSource,
  type WidgetCommand,
  type WidgetEventDetails,
  type WidgetEventMessage,
  type WidgetEventType,
} from './embed-protocol.ts';

export interface MountOptions {
  /** The partner id the visitors' work is credited to. */
  partner: string;
  /** The Surge origin; defaults to the origin embed.js was loaded from. */
  surge?: string;
  /** Called with every event the widget sends. */
  onEvent?: <T extends WidgetEventType>(type: T, detail: WidgetEventDetails[T]) => void;
  /** The iframe's width (CSS); 100% of the element by default, at most 24rem. */
  width?: string;
}

export interface WidgetHandle {
  iframe: HTMLIFrameElement;
  pause(): void;
  resume(): void;
  openSettings(): void;
  /** Removes the widget (computing in it stops with it). */
  destroy(): void;
}

const script = document.currentScript as HTMLScriptElement | null;
const scriptOrigin = script?.src ? new URL(script.src).origin : undefined;

function mount(element: Element, options: MountOptions): WidgetHandle {
  const surge = new URL(options.surge ?? scriptOrigin ?? location.origin).origin;
  const src = new URL('/widget.html', surge);
  src.searchParams.set('partner', options.partner);
  src.searchParams.set('origin', location.origin);
  const iframe = document.createElement('iframe');
  iframe.src = src.href;
  iframe.title = 'Surge: lend spare computing power';
  // Only what the widget needs: scripts and its own origin's storage (the session key and
  // results stay there), and popups that leave the sandbox to open Surge's own page.
  iframe.setAttribute('sandbox', 'allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox');
  // Compute Pressure lets the widget back off when the device is under load.
  iframe.allow = 'compute-pressure';
  // CSSOM, not a style attribute: works under a partner's strict style-src.
  iframe.style.border = '0';
  iframe.style.width = options.width ?? '100%';
  iframe.style.maxWidth = '24rem';
  iframe.style.height = '12rem';
  iframe.style.colorScheme = 'normal';
  element.append(iframe);

  const onMessage = (event: MessageEvent) => {
    const message = event.data as WidgetEventMessage;
    if (event.origin !== surge || event.source !== iframe.contentWindow || message?.source !== kWidgetSource) return;
    if (message.type === 'resize') iframe.style.height = `${Math.ceil((message.detail as WidgetEventDetails['resize']).height)}px`;
    options.onEvent?.(message.type, message.detail);
    element.dispatchEvent(new CustomEvent(`surge:${message.type}`, { detail: message.detail, bubbles: true }));
  };
  addEventListener('message', onMessage);
  const send = (command: WidgetCommand) => iframe.contentWindow?.postMessage({ source: kPartnerSource, version: kProtocolVersion, command }, surge);
  return {
    iframe,
    pause: () => send('pause'),
    resume: () => send('resume'),
    openSettings: () => send('open-settings'),
    destroy() {
      removeEventListener('message', onMessage);
      iframe.remove();
    },
  };
}

/** Every widget mounted on this page, the one-tag widget included. */
const widgets: WidgetHandle[] = [];
const api = {
  mount(element: Element, options: MountOptions): WidgetHandle {
    const handle = mount(element, options);
    widgets.push(handle);
    return handle;
  },
  widgets,
  version: kProtocolVersion,
};
(globalThis as unknown as { Surge: typeof api }).Surge = api;

// The one-tag form: `data-partner` on the script tag mounts a widget where the tag is, or in
// the element `data-target` names.
if (script?.dataset.partner) {
  const { partner, target } = script.dataset;
  const place = () => {
    let element = target ? document.querySelector(target) : null;
    if (!element) {
      element = document.createElement('div');
      if (script.parentElement && script.parentElement !== document.head) script.before(element);
      else document.body.append(element);
    }
    api.mount(element, { partner });
  };
  if (document.body) place();
  else addEventListener('DOMContentLoaded', place, { once: true });
}
document.dispatchEvent(new CustomEvent('surge:loaded'));
