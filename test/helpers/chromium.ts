import { existsSync } from 'node:fs';

/** The system Chromium that tests drive; `CHROME_PATH` chooses another. */
export function chromiumPath(): string {
  const path = process.env.CHROME_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(
      `Chromium was not found at ${path}. Install Debian's package with \`apt-get install -y chromium\` (as .ci/run does), or set CHROME_PATH to a Chromium or Chrome binary.`,
    );
  }
  return path;
}

/**
 * Flags for headless Chromium here: no sandbox (tests run as root), no calls home (the
 * network is closed), and WebGPU enabled, which gives a SwiftShader adapter on a machine
 * with no GPU.
 */
export const chromiumArgs = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-default-apps',
  '--no-first-run',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
];
