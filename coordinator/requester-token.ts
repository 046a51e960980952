import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The development requester token: when no tokens are configured (SURGE_REQUESTER_TOKENS), a
 * laptop coordinator makes one on first start and keeps it beside the database, readable by
 * its owner only, so `npx surge job …` works with no setup.
 */
export function loadOrCreateRequesterToken(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}
