// The defaults of the run options (re-exported by operations.ts), in a module of their own so
// that the CLI can show them in --help and --version without loading the engine.

import type { ValidateMode } from './read-engine.js';

export const DEFAULTS = {
  timeoutMs: 5 * 60_000,
  killGraceMs: 10_000,
  heartbeatMs: 3 * 60 * 60_000,
  maxLineBytes: 64 * 1024 * 1024,
  commitIntervalMs: 1000,
  validate: 'off' as ValidateMode,
};
