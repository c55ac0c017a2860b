#!/usr/bin/env node
// Protocol source → Singer tap (the reverse of singer-tap.mjs). See src/shims/protocol-tap.ts.
// Usage: protocol-tap.mjs [--source REF] --about [--format json|markdown]
//        protocol-tap.mjs [--source REF] --config F --discover
//        protocol-tap.mjs [--source REF] --config F [--catalog F | --properties F] [--state F]
//        (or the source after -- PROGRAM ARGS..., or in $CONNECTOR_HOST_SOURCE)
import { runProtocolTap } from '../dist/shims/protocol-tap.js';

runProtocolTap(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
