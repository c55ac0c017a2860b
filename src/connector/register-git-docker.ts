// Registers the `git:` and `docker:` reference kinds with the resolver (src/connector/resolve.ts).
// Call once at start-up (the CLI, or a library user); calling it again changes nothing.

import { REFERENCE_KINDS, registerReferenceKind } from './resolve.js';
import { gitResolver } from './git.js';
import { dockerResolver } from './docker.js';

export function registerGitAndDockerReferenceKinds(): void {
  if (REFERENCE_KINDS.get('git') !== gitResolver) registerReferenceKind('git', gitResolver);
  if (REFERENCE_KINDS.get('docker') !== dockerResolver) registerReferenceKind('docker', dockerResolver);
}

export { resolveGit, readGitProvenance, listGitProvenance, parseGitReference, type GitProvenance, type GitReference } from './git.js';
export { dockerConnector, parseDockerImage, CONTAINER_FILES_DIR } from './docker.js';
