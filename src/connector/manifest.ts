// `manifest:PATH`: an Airbyte declarative (low-code) YAML source, run by the
// `source-declarative-manifest` console script of the PyPI package
// airbyte-source-declarative-manifest (installed with the pypi: resolver).
//
// That runner (6.x) takes the manifest inside the config, as the key
// `__injected_declarative_manifest`, and its `spec` prints a generic spec that requires that
// key (newer runners in airbyte-cdk also take `--manifest-path`, but not for spec). So the
// connector is started as
//   <venv>/bin/python -c <LAUNCHER> <venv>/bin/source-declarative-manifest --manifest-path <abs PATH> <command> ...
// and the small launcher below, in the venv's Python (which has PyYAML, a CDK dependency):
//   - spec: prints the SPEC of the manifest's own `spec:` section (so the host validates the
//     user's config against what the manifest declares);
//   - check/discover/read: writes a private copy of --config with the parsed manifest
//     injected, passes that copy instead, runs the runner in-process, and removes the copy.
// The user's config file is never modified.

import { existsSync, statSync } from 'node:fs';
import { resolve as resolvePath, basename } from 'node:path';
import { ConfigError } from '../errors.js';
import type { ConnectorRef, ResolveOptions } from './resolve.js';
import { parsePypiSpec, installPypi, venvEnv } from './pypi.js';

/** The PyPI package that runs manifests (no version: the latest, installed once). */
export const MANIFEST_RUNNER_PACKAGE = 'airbyte-source-declarative-manifest';
export const MANIFEST_RUNNER_SCRIPT = 'source-declarative-manifest';

export const MANIFEST_LAUNCHER = `
import sys, os, json, runpy, tempfile
script = sys.argv[1]
args = sys.argv[2:]
manifest_path = None
if "--manifest-path" in args:
    i = args.index("--manifest-path")
    manifest_path = args[i + 1]
    del args[i:i + 2]
if manifest_path is None:
    sys.exit("connector-host manifest launcher: --manifest-path is missing")
import yaml
with open(manifest_path, "r", encoding="utf-8") as f:
    manifest = yaml.safe_load(f)
if not isinstance(manifest, dict):
    sys.exit("the manifest %s is not a YAML mapping" % manifest_path)
if args and args[0] == "spec":
    s = manifest.get("spec") or {}
    out = {"connectionSpecification": s.get("connection_specification") or {"type": "object", "properties": {}}}
    if s.get("documentation_url"):
        out["documentationUrl"] = s["documentation_url"]
    if s.get("advanced_auth"):
        out["advanced_auth"] = s["advanced_auth"]
    print(json.dumps({"type": "SPEC", "spec": out}), flush=True)
    sys.exit(0)
tmp = None
if "--config" in args:
    i = args.index("--config")
    with open(args[i + 1], "r", encoding="utf-8") as f:
        config = json.load(f)
    config["__injected_declarative_manifest"] = manifest
    fd, tmp = tempfile.mkstemp(prefix="config-", suffix=".json", dir=os.path.dirname(os.path.abspath(args[i + 1])))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(config, f)
    args[i + 1] = tmp
sys.argv = [script] + args
try:
    runpy.run_path(script, run_name="__main__")
finally:
    if tmp:
        try:
            os.unlink(tmp)
        except OSError:
            pass
`;

/** The argv after the interpreter: `-c LAUNCHER <script> --manifest-path <abs>` (the command follows). */
export function manifestArgs(script: string, manifestAbs: string): string[] {
  return ['-c', MANIFEST_LAUNCHER, script, '--manifest-path', manifestAbs];
}

/** The `manifest:` resolver. */
export async function resolveManifest(rest: string, raw: string, opts: ResolveOptions): Promise<ConnectorRef> {
  if (!rest) throw new ConfigError(`${raw}: expected manifest:PATH to a declarative YAML manifest`, {}, 'CONNECTOR_NOT_FOUND');
  const abs = resolvePath(rest);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new ConfigError(`${raw}: no manifest file at ${abs}`, { file: rest }, 'CONNECTOR_NOT_FOUND');
  const spec = parsePypiSpec(process.env['CONNECTOR_HOST_MANIFEST_RUNNER'] ?? MANIFEST_RUNNER_PACKAGE, raw);
  const inst = await installPypi(spec, { ...opts, raw: `${raw} (pypi:${spec.name}${spec.version ? `==${spec.version}` : ''})` });
  const script = `${inst.dir}/bin/${MANIFEST_RUNNER_SCRIPT}`;
  if (!(MANIFEST_RUNNER_SCRIPT in inst.marker.console_scripts) || !existsSync(script)) {
    throw new ConfigError(`${raw}: ${spec.name} has no ${MANIFEST_RUNNER_SCRIPT} console script (it has: ${Object.keys(inst.marker.console_scripts).join(', ') || 'none'})`, {}, 'CONNECTOR_NOT_FOUND');
  }
  return {
    display: raw,
    name: basename(abs).replace(/\.ya?ml$/i, ''),
    command: inst.python,
    args: manifestArgs(script, abs),
    env: venvEnv(inst.dir),
  };
}
