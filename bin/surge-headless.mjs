#!/usr/bin/env node
// `npx surge-headless …`: contributes from a headless Chromium, for CI and test farms.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../coordinator/cli/surge-headless.ts');
process.exitCode = await main(process.argv.slice(2));
