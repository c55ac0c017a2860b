// The reference kinds the host knows (pypi:, npm:, manifest:, git:, docker:), registered by
// scheme name with a loader: the module that resolves a kind is imported on its first use, so
// a run of a local file never loads the installers, simple-git or the Docker client
// (test/cli/startup.test.ts checks it). register-builtins.ts and register-git-docker.ts keep
// the eager API for library users; both register the same kinds.

import { REFERENCE_KINDS, registerReferenceKind, type ReferenceResolver } from './resolve.js';

/** A resolver that imports its module on the first call. */
export function lazyResolver(load: () => Promise<ReferenceResolver>): ReferenceResolver {
  let resolver: Promise<ReferenceResolver> | undefined;
  return async (rest, raw, opts) => (await (resolver ??= load()))(rest, raw, opts);
}

export const LAZY_REFERENCE_KINDS: Readonly<Record<string, ReferenceResolver>> = {
  pypi: lazyResolver(async () => (await import('./pypi.js')).resolvePypi),
  npm: lazyResolver(async () => (await import('./npm.js')).resolveNpm),
  manifest: lazyResolver(async () => (await import('./manifest.js')).resolveManifest),
  git: lazyResolver(async () => (await import('./git.js')).gitResolver),
  docker: lazyResolver(async () => (await import('./docker.js')).dockerResolver),
};

/** Register every built-in kind (idempotent; a kind registered by someone else is kept). */
export function registerReferenceKinds(): void {
  for (const [scheme, resolver] of Object.entries(LAZY_REFERENCE_KINDS)) {
    if (!REFERENCE_KINDS.has(scheme)) registerReferenceKind(scheme, resolver);
  }
}
