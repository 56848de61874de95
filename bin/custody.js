#!/usr/bin/env node
// Entry point of the `custody` command: runs the compiled CLI (built by `npm run build`, which
// `npm ci` runs through the `prepare` script).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
