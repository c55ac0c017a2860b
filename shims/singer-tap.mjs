#!/usr/bin/env node
// Singer tap → protocol source. See src/shims/singer-tap.ts.
// Usage: singer-tap.mjs --tap-json '{"command":"tap-x","args":[],"env":{}}' spec|check|discover|read [--config F] [--catalog F] [--state F]
import { runSingerTapShim } from '../dist/shims/singer-tap.js';

runSingerTapShim(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stdout.write(JSON.stringify({ type: 'TRACE', trace: { type: 'ERROR', emitted_at: Date.now(), error: { message: `singer-tap shim: ${err?.message ?? err}`, stack_trace: String(err?.stack ?? ''), failure_type: 'system_error' } } }) + '\n');
    process.exitCode = 1;
  },
);
