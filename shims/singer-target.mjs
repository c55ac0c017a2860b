#!/usr/bin/env node
// Singer target → protocol destination. See src/shims/singer-target.ts.
// Usage: singer-target.mjs --target-json '{"command":"target-x","args":[],"env":{}}' spec|check|write [--config F] [--catalog F]
import { runSingerTargetShim } from '../dist/shims/singer-target.js';

runSingerTargetShim(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stdout.write(JSON.stringify({ type: 'TRACE', trace: { type: 'ERROR', emitted_at: Date.now(), error: { message: `singer-target shim: ${err?.message ?? err}`, stack_trace: String(err?.stack ?? ''), failure_type: 'system_error' } } }) + '\n');
    process.exitCode = 1;
  },
);
