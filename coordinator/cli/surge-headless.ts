import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { getAddress, type Hex, isAddress } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { ContributorSnapshot } from '../../src/contributor/contributor-controller.ts';
import type { OwnerCreditResponse } from '../../src/protocol/schemas.ts';
import type { HeadlessRun, SurgeApp } from '../../src/ui/surge-app.ts';
import { chromiumArgs, chromiumPath } from '../../test/helpers/chromium.ts';

const usage = `Usage: surge-headless --coordinator URL [options]

Contributes from a headless Chromium: opens the coordinator's contributor page, starts at once
(running this command is the consent), prints a progress line every few seconds and, at the end,
a JSON summary. Exits 1 when it could not contribute, 2 on bad options.

Options:
  --coordinator URL   the coordinator (default $SURGE_COORDINATOR or http://127.0.0.1:8080)
  --workers N         CPU workers (default: hardware threads − 1)
  --cpu PERCENT       CPU limit per worker, 1 to 100 (default 100)
  --owner ADDRESS     credit this address; needs its private key in $SURGE_OWNER_KEY
  --max-units N       stop after N units are done and their results sent
  --max-seconds S     stop after S seconds
  --json              progress and summary as JSON lines

Chromium: /usr/bin/chromium, or $CHROME_PATH.
`;

/** Without --max-seconds, give up when no unit is done in this long. */
const kNoProgressTimeoutS = 120;
/** Give up when the page has not started its workers in this long. */
const kStartTimeoutS = 120;
/** How often a progress line is printed. */
const kProgressEveryMs = 5000;
/** How long to wait at the end for results still in the outbox. */
const kDrainTimeoutMs = 20_000;

export interface HeadlessOptions {
  coordinator: string;
  workers?: number;
  cpu?: number;
  owner?: Hex;
  ownerKey?: Hex;
  maxUnits?: number;
  maxSeconds?: number;
  json: boolean;
}

export interface HeadlessSummary {
  coordinator: string;
  owner: string | null;
  unitsDone: number;
  validated: number;
  rejected: number;
  /** Received by the coordinator and held until another contributor's replica agrees. */
  awaitingQuorum: number;
  credit: string;
  backend: string[];
  device: string | null;
  workers: number;
  seconds: number;
  unitsPerSecond: number;
}

class UsageError extends Error {}
class ContributeError extends Error {}

function positiveInteger(name: string, raw: string | undefined, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1 || value > max) throw new UsageError(`--${name} must be a whole number from 1 to ${max}, not "${raw}"`);
  return value;
}

export function parseHeadlessArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): HeadlessOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      coordinator: { type: 'string' },
      workers: { type: 'string' },
      cpu: { type: 'string' },
      owner: { type: 'string' },
      'max-units': { type: 'string' },
      'max-seconds': { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) throw new UsageError('');
  const coordinator = values.coordinator ?? env.SURGE_COORDINATOR ?? 'http://127.0.0.1:8080';
  try {
    new URL(coordinator);
  } catch {
    throw new UsageError(`--coordinator must be a URL such as http://127.0.0.1:8080, not "${coordinator}"`);
  }
  const options: HeadlessOptions = {
    coordinator: new URL(coordinator).origin,
    workers: positiveInteger('workers', values.workers, 256),
    cpu: positiveInteger('cpu', values.cpu, 100),
    maxUnits: positiveInteger('max-units', values['max-units']),
    maxSeconds: positiveInteger('max-seconds', values['max-seconds']),
    json: values.json,
  };
  if (values.owner !== undefined) {
    if (!isAddress(values.owner)) throw new UsageError(`--owner must be an address (0x and 40 hex digits), not "${values.owner}"`);
    // Credit goes to the key that signs the session grant (Sign-In with Ethereum): an address
    // alone cannot be credited, so the runner needs that address's key to sign for it.
    const key = env.SURGE_OWNER_KEY;
    if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
      throw new UsageError(
        `--owner needs the private key of ${values.owner} in SURGE_OWNER_KEY (from your CI secrets): Surge credits the key that signs the session, and cannot credit an address without its signature. Leave out --owner to earn to a fresh key, printed in the summary.`,
      );
    }
    const address = privateKeyToAccount(key as Hex).address;
    if (address.toLowerCase() !== values.owner.toLowerCase()) throw new UsageError(`SURGE_OWNER_KEY is the key of ${address}, not of --owner ${values.owner}`);
    options.owner = getAddress(values.owner);
    options.ownerKey = key as Hex;
  }
  return options;
}

async function getJson<T>(url: string, path: string): Promise<T> {
  const response = await fetch(new URL(path, url), { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${path} answered HTTP ${response.status}`);
  return (await response.json()) as T;
}

/** Validated results and credit of an owner, as the coordinator's ledger has them. */
async function ownerCredit(url: string, owner: string): Promise<{ validatedResults: number; credit: bigint }> {
  const answer = await getJson<OwnerCreditResponse>(url, `/v1/owners/${owner}`);
  return { validatedResults: answer.validatedResults, credit: BigInt(answer.credit) };
}

async function checkCoordinator(url: string): Promise<void> {
  try {
    await getJson(url, '/v1/info');
  } catch (error) {
    const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
    throw new ContributeError(`Cannot reach the coordinator at ${url} (${cause}). Is it running, and is --coordinator right?`);
  }
}

const snapshotOf = (page: Page) => page.evaluate(() => document.querySelector('surge-app')?.contribution) as Promise<ContributorSnapshot | undefined>;

function summarize(
  options: HeadlessOptions,
  snapshot: ContributorSnapshot | undefined,
  earned: { validatedResults: number; credit: bigint },
  seconds: number,
): HeadlessSummary {
  const unitsDone = snapshot?.submitted ?? 0;
  return {
    coordinator: options.coordinator,
    owner: snapshot?.owner ?? null,
    unitsDone,
    validated: earned.validatedResults,
    rejected: snapshot?.rejected ?? 0,
    awaitingQuorum: snapshot?.awaitingQuorum ?? 0,
    credit: String(earned.credit),
    backend: snapshot?.backends ?? [],
    device: snapshot?.device ?? null,
    workers: snapshot?.cpuWorkers ?? 0,
    seconds: Math.round(seconds * 10) / 10,
    unitsPerSecond: seconds > 0 ? Math.round((unitsDone / seconds) * 1000) / 1000 : 0,
  };
}

function progressLine(options: HeadlessOptions, s: ContributorSnapshot, seconds: number): string {
  if (options.json) {
    return JSON.stringify({
      progress: true,
      seconds: Math.round(seconds),
      state: s.state,
      unitsDone: s.submitted,
      validated: s.validated,
      credit: s.credit,
      waiting: s.waitingResults,
    });
  }
  return `[${Math.round(seconds)}s] ${s.state}: ${s.submitted} units done, ${s.validated} validated, credit ${s.credit}${s.waitingResults ? `, ${s.waitingResults} waiting to send` : ''}${s.notice ? ` — ${s.notice}` : ''}`;
}

/** Opens the contributor page, contributes until a limit is reached, and returns the summary. */
export async function runHeadless(options: HeadlessOptions, log: (line: string) => void, signal?: AbortSignal): Promise<HeadlessSummary> {
  await checkCoordinator(options.coordinator);
  // This run's figures are the ledger's growth: an --owner may have earned before.
  const before = options.owner ? await ownerCredit(options.coordinator, options.owner) : { validatedResults: 0, credit: 0n };
  let browser: Browser | undefined;
  // Time counts from when the workers are up, so browser start-up is not in the throughput.
  let started: number | undefined;
  const elapsed = () => (started === undefined ? 0 : (performance.now() - started) / 1000);
  const launchedAt = performance.now();
  try {
    // Loaded only now: a dead coordinator is reported without loading the browser driver.
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: chromiumPath(), args: chromiumArgs, headless: true });
    const page = await browser.newPage();
    const response = await page.goto(options.coordinator);
    if (!response?.ok())
      throw new ContributeError(
        `The coordinator at ${options.coordinator} does not serve the contributor page (HTTP ${response?.status()}); build it with \`npm run build\`.`,
      );
    await page.waitForFunction(() => customElements.get('surge-app') !== undefined && document.querySelector('surge-app') !== null);
    const run: HeadlessRun = {
      ...(options.workers ? { cpuWorkers: options.workers } : {}),
      ...(options.cpu ? { cpuLimitPercent: options.cpu } : {}),
      ...(options.ownerKey ? { ownerKey: { privateKey: options.ownerKey, address: privateKeyToAccount(options.ownerKey).address } } : {}),
    };
    await page.evaluate((r) => (document.querySelector('surge-app') as SurgeApp).startRun(r), run);

    let snapshot: ContributorSnapshot | undefined;
    let lastLine = Number.NEGATIVE_INFINITY;
    let announced = false;
    const giveUpAfter = options.maxSeconds ?? kNoProgressTimeoutS;
    for (;;) {
      await page.waitForTimeout(250);
      snapshot = await snapshotOf(page);
      if (!snapshot) continue;
      if (snapshot.state === 'error') throw new ContributeError(`The contributor stopped: ${snapshot.notice ?? 'an error'}`);
      if (started === undefined) {
        if (snapshot.state === 'starting' || snapshot.state === 'idle') {
          if (performance.now() - launchedAt > kStartTimeoutS * 1000)
            throw new ContributeError(`The contributor page did not start its workers in ${kStartTimeoutS} s.`);
          continue;
        }
        started = performance.now();
      }
      const firstRunning: boolean = !announced;
      if (firstRunning || performance.now() - lastLine >= kProgressEveryMs) {
        announced ||= firstRunning;
        lastLine = performance.now();
        log(progressLine(options, snapshot, elapsed()));
      }
      if (options.maxUnits !== undefined && snapshot.submitted >= options.maxUnits) break;
      if (options.maxSeconds !== undefined && elapsed() >= options.maxSeconds) break;
      if (options.maxSeconds === undefined && snapshot.submitted === 0 && elapsed() >= kNoProgressTimeoutS) break;
      if (signal?.aborted) break;
    }
    const seconds = elapsed();
    await page.evaluate(() => (document.querySelector('surge-app') as SurgeApp).pauseRun());
    await page.waitForTimeout(300);
    snapshot = (await snapshotOf(page)) ?? snapshot;
    // Results still in the outbox are sent, and judged, before the summary.
    const drainUntil = performance.now() + kDrainTimeoutMs;
    let earned = { validatedResults: 0, credit: 0n };
    for (;;) {
      snapshot = (await snapshotOf(page)) ?? snapshot;
      if (snapshot?.owner) {
        const after = await ownerCredit(options.coordinator, snapshot.owner);
        earned = { validatedResults: after.validatedResults - before.validatedResults, credit: after.credit - before.credit };
      }
      // A result held for a quorum is answered too: its verdict waits for another contributor.
      const judged = earned.validatedResults + (snapshot?.rejected ?? 0) + (snapshot?.awaitingQuorum ?? 0);
      if (judged >= (snapshot?.submitted ?? 0) || performance.now() > drainUntil) break;
      await page.waitForTimeout(250);
    }
    const summary = summarize(options, snapshot, earned, seconds);
    if (summary.unitsDone === 0) {
      throw new ContributeError(`No work unit was done in ${giveUpAfter} s${snapshot?.notice ? `: ${snapshot.notice}` : ''}.`);
    }
    if (summary.validated === 0 && summary.awaitingQuorum > 0) {
      throw new ContributeError(
        `${summary.unitsDone} units were done; none is validated yet: ${summary.awaitingQuorum} wait for another contributor's replica to agree (a new owner's results are replicated until it has a run of valid ones).`,
      );
    }
    if (summary.validated === 0)
      throw new ContributeError(`${summary.unitsDone} units were done but none was validated${snapshot?.notice ? `: ${snapshot.notice}` : ''}.`);
    return summary;
  } finally {
    await browser?.close();
  }
}

/** `npx surge-headless …`; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let options: HeadlessOptions;
  try {
    options = parseHeadlessArgs(argv);
  } catch (caught) {
    const error = caught as Error & { code?: string };
    if (!(error instanceof UsageError || error.code?.startsWith('ERR_PARSE_ARGS'))) throw error;
    if (error.message) console.error(`surge-headless: ${error.message}\n`);
    console.error(usage);
    return error.message ? 2 : 0;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const summary = await runHeadless(options, (line) => console.error(line), stop.signal);
    console.log(options.json ? JSON.stringify(summary) : JSON.stringify(summary, null, 2));
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (options.json) console.log(JSON.stringify({ error: message }));
    console.error(`surge-headless: ${message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
