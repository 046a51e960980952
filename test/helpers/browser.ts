import { type Browser, chromium } from 'playwright-core';
import { chromiumArgs, chromiumPath } from './chromium.ts';

/** Launches the system Chromium headless, with the flags this machine needs. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs, headless: true });
}
