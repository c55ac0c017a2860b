// `docker:IMAGE[:TAG][@DIGEST]` references: the connector is a container image, run as
//
//   docker run --rm -i --name connector-host-<image>-<pid>-<random> \
//     -v <filesDir>/.docker-<random>:/connector-host/files:ro IMAGE <args>
//
// with every argument that is a path inside the run's files directory (config, catalog,
// state) rewritten to the same path under /connector-host/files.
//
// File permissions. The host writes those files 0600 in a 0700 directory: readable by the
// host's user only. An image usually runs as its own user (root, or e.g. `airbyte`, uid 1000),
// which is not the host's user, so it could not read them. We do not pass `--user $(id -u)`:
// many images need their own user (its home, its writable working folder, its installed
// packages), and with rootless Docker or user-namespace remapping the host's uid means
// something else in the container. Instead, at each spawn, prepareArgs copies the files into a
// fresh sub-folder `.docker-<random>` of the files directory, made 0755 with files 0644, and
// mounts only that sub-folder, read-only. Inside the container they are readable by any user;
// on the host they stay private, because the parent directory is still 0700 (a bind mount does
// not go through the host path's parents, other local users do). The copies go with the run's
// files directory when the run ends.
//
// Stopping. Killing the docker client (SIGTERM/SIGKILL to its process group) does not stop the
// container: the daemon runs it. onStop runs `docker kill <name>` for the container of the
// latest spawn of this reference (the host runs spec, check, discover and read one after the
// other); `--rm` then removes it. `docker kill`, not `docker stop -t`: the host awaits onStop
// before its own SIGTERM/grace/SIGKILL, and nothing committed is lost by a hard stop (records
// after the last committed state are read again).
//
// The docker program: $CONNECTOR_HOST_DOCKER (e.g. `podman`), else `docker` on PATH.

import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ConnectorRef, ResolveOptions } from './resolve.js';
import { ConfigError } from '../errors.js';

/** Where the run's files appear inside the container. */
export const CONTAINER_FILES_DIR = '/connector-host/files';

// The Docker reference grammar (github.com/distribution/reference, regexp.go).
const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);

export interface DockerImage {
  /** The reference as given, validated. */
  image: string;
  /** Repository name without tag or digest (e.g. airbyte/source-faker). */
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

/** Validate an image reference against Docker's grammar; refuses anything docker could read as an option. */
export function parseDockerImage(s: string): DockerImage {
  if (!s) throw new ConfigError('docker reference refused: no image; use docker:IMAGE[:TAG]');
  if (s.startsWith('-')) throw new ConfigError(`docker reference refused: image ${JSON.stringify(s)} starts with "-" (it would be read as a docker option)`);
  const m = REFERENCE.exec(s);
  if (!m) {
    throw new ConfigError(
      `docker reference refused: ${JSON.stringify(s)} is not a valid image reference ([registry[:port]/]name[:tag][@digest]; the name in lower case: a-z, 0-9, ".", "_", "-", "/")`,
    );
  }
  if (m[1]!.length > 255) throw new ConfigError(`docker reference refused: the image name is longer than 255 characters`);
  return { image: s, repository: m[1]!, tag: m[2], digest: m[3] };
}

/** The docker program to run. */
export function dockerProgram(env: NodeJS.ProcessEnv = process.env): string {
  return env['CONNECTOR_HOST_DOCKER'] || 'docker';
}

function containerName(img: DockerImage): string {
  const last = img.repository.split('/').pop()!.replace(/[^a-zA-Z0-9_.-]/g, '-').slice(0, 40);
  return `connector-host-${last}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Copy the run's files into a fresh world-readable sub-folder (see the header); returns it. */
function shareFiles(filesDir: string): string {
  const shared = join(filesDir, `.docker-${randomBytes(8).toString('hex')}`);
  const copy = (from: string, to: string) => {
    mkdirSync(to, { mode: 0o755 });
    chmodSync(to, 0o755); // whatever the umask
    for (const n of readdirSync(from)) {
      if (n.startsWith('.docker-')) continue;
      const src = join(from, n);
      const st = statSync(src);
      if (st.isDirectory()) copy(src, join(to, n));
      else if (st.isFile()) {
        copyFileSync(src, join(to, n));
        chmodSync(join(to, n), 0o644);
      }
    }
  };
  copy(filesDir, shared);
  return shared;
}

/** Rewrite every argument that is a path inside filesDir (or `--opt=path`) to the container path. */
export function rewriteArgs(args: string[], filesDir: string, containerDir = CONTAINER_FILES_DIR): string[] {
  const dir = filesDir.replace(/\/+$/, '');
  const map = (p: string) => (p === dir ? containerDir : p.startsWith(dir + '/') ? containerDir + p.slice(dir.length) : undefined);
  return args.map((a) => {
    const whole = map(a);
    if (whole !== undefined) return whole;
    const eq = a.indexOf('=');
    if (a.startsWith('-') && eq > 0) {
      const v = map(a.slice(eq + 1));
      if (v !== undefined) return `${a.slice(0, eq + 1)}${v}`;
    }
    return a;
  });
}

export interface DockerConnectorRef extends ConnectorRef {
  /** The container name of the latest spawn (undefined before the first). */
  readonly containerName: string | undefined;
}

/** A ConnectorRef running IMAGE with docker (see the header). */
export function dockerConnector(image: string, raw = `docker:${image}`, _opts: ResolveOptions = {}): DockerConnectorRef {
  const img = parseDockerImage(image);
  const docker = dockerProgram();
  let current: string | undefined;
  const ref: DockerConnectorRef = {
    display: raw,
    name: img.repository.split('/').pop()!,
    command: docker,
    args: [],
    get containerName() {
      return current;
    },
    prepareArgs(args, filesDir) {
      const name = containerName(img);
      current = name;
      const run = ['run', '--rm', '-i', '--name', name];
      if (!filesDir) return [...run, img.image, ...args];
      if (filesDir.includes(':') || filesDir.includes(',')) {
        throw new ConfigError(`cannot mount the run's files directory ${filesDir} into a container: its path contains ":" or ","`);
      }
      const shared = shareFiles(filesDir);
      return [...run, '-v', `${shared}:${CONTAINER_FILES_DIR}:ro`, img.image, ...rewriteArgs(args, filesDir)];
    },
    async onStop() {
      const name = current;
      if (!name) return;
      await execa(docker, ['kill', name], { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', timeout: 30_000 });
    },
    onStopSync() {
      // the host is exiting at once (a second Ctrl-C): no time for async work
      if (current) spawnSync(docker, ['kill', current], { stdio: 'ignore', timeout: 10_000 });
    },
  };
  return ref;
}

/** The ReferenceResolver registered for `docker:`. */
export async function dockerResolver(rest: string, raw: string, opts: ResolveOptions): Promise<ConnectorRef> {
  return dockerConnector(rest, raw, opts);
}
