#!/usr/bin/env node
// The workspace's entry for `npx surge-headless`: the runner itself is bin/surge-headless.mjs.
import '../../bin/surge-headless.mjs';
