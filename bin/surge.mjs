#!/usr/bin/env node
// `npx surge …`: the requester CLI, written in TypeScript and run through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../coordinator/cli/surge-cli.ts');
process.exitCode = await main(process.argv.slice(2));
