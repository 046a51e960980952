/**
 * Response headers of the embed's two public files. Everything else the coordinator serves
 * keeps `Cross-Origin-Resource-Policy: same-origin`.
 *
 * - `/embed.js` is loaded by `<script src>` from any partner page: a no-cors request, which
 *   Chromium blocks under CORP `same-origin`, so it says `cross-origin`, and may be cached.
 * - `/widget.html` is framed by partner pages: CSP `frame-ancestors` names who may frame it
 *   (clickjacking would otherwise let any page trick a visitor into consenting), and CORP
 *   `cross-origin` lets a partner page that is itself cross-origin isolated
 *   (COEP `require-corp`) embed it. Its own COEP `require-corp` stays: its workers and WASM
 *   are same-origin and load under it.
 */
export function embedHeaders(path: string, frameAncestors: readonly string[] | undefined): Record<string, string> | undefined {
  if (path === '/embed.js') {
    return { 'cross-origin-resource-policy': 'cross-origin', 'cache-control': 'public, max-age=300' };
  }
  if (path === '/widget.html' || path === '/widget') {
    return {
      'cross-origin-resource-policy': 'cross-origin',
      'content-security-policy': `frame-ancestors ${frameAncestorsSource(frameAncestors)}`,
      'cache-control': 'no-cache',
    };
  }
  return undefined;
}

/** The CSP source list: `'self'` plus the allowed partner origins, or `*` when open. */
export function frameAncestorsSource(frameAncestors: readonly string[] | undefined): string {
  if (frameAncestors?.includes('*')) return '*';
  return ["'self'", ...(frameAncestors ?? [])].join(' ');
}

/**
 * `SURGE_FRAME_ANCESTORS`: partner origins allowed to frame the widget, separated by commas or
 * spaces (`https://news.example,https://blog.example`), or `*` for any site. Unset: only
 * Surge's own origin.
 */
export function parseFrameAncestors(value: string | undefined): string[] | undefined {
  const entries = (value ?? '').split(/[\s,]+/).filter(Boolean);
  if (entries.length === 0) return undefined;
  for (const entry of entries) {
    if (entry === '*') continue;
    let origin: string | undefined;
    try {
      origin = new URL(entry).origin;
    } catch {}
    if (origin !== entry || !/^https?:/.test(entry)) {
      throw new Error(`SURGE_FRAME_ANCESTORS must list origins such as https://partner.example (no path, no trailing slash) or *, not "${entry}"`);
    }
  }
  return entries;
}
