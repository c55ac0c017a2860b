// Registers the package reference kinds (pypi:, npm:, manifest:) with the resolver.
// The CLI and the library index call registerBuiltinReferenceKinds() once; calling it
// again changes nothing.

import { REFERENCE_KINDS, registerReferenceKind, type ReferenceResolver } from './resolve.js';
import { resolvePypi } from './pypi.js';
import { resolveNpm } from './npm.js';
import { resolveManifest } from './manifest.js';

export const BUILTIN_REFERENCE_KINDS: Readonly<Record<string, ReferenceResolver>> = {
  pypi: resolvePypi,
  npm: resolveNpm,
  manifest: resolveManifest,
};

/** Register pypi:, npm: and manifest: (idempotent; a kind registered by someone else is kept). */
export function registerBuiltinReferenceKinds(): void {
  for (const [scheme, resolver] of Object.entries(BUILTIN_REFERENCE_KINDS)) {
    if (!REFERENCE_KINDS.has(scheme)) registerReferenceKind(scheme, resolver);
  }
}

export { cacheRoot } from './cache.js';
export { resolvePypi, installPypi, parsePypiSpec } from './pypi.js';
export { resolveNpm, installNpm, parseNpmSpec } from './npm.js';
export { resolveManifest } from './manifest.js';
