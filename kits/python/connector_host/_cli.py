"""The Airbyte protocol commands for every kit shape: spec, check, discover, read, write."""

import os
import sys

from ._errors import ConfigError, KitError, describe, print_traceback, mask, context as _context
from ._out import Out, set_current
from ._api import SourceDef, kit_kind
from ._config import full_spec, make_config, read_json_file, register_secrets

USAGE = """usage: CONNECTOR spec
       CONNECTOR check    --config CONFIG.json
       CONNECTOR discover --config CONFIG.json
       CONNECTOR read     --config CONFIG.json --catalog CATALOG.json [--state STATE.json]
       CONNECTOR write    --config CONFIG.json --catalog CATALOG.json   (writers; messages on stdin)
"""



class UsageError(Exception):
    pass


def parse_args(argv):
    cmd = None
    opts = {}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            opts["help"] = True
        elif a.startswith("--"):
            k, eq, v = a[2:].partition("=")
            if k in ("config", "catalog", "state"):
                if not eq:
                    i += 1
                    if i >= len(argv):
                        raise UsageError("--%s needs a file" % k)
                    v = argv[i]
                opts[k] = v
            elif k == "debug":
                pass
            else:
                raise UsageError("unknown option --%s" % k)
        elif cmd is None:
            cmd = a
        else:
            raise UsageError("unexpected argument %r" % a)
        i += 1
    return cmd, opts


# ---- main ----------------------------------------------------------------------------------

def _quiet_exit(code):
    try:
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(code)


def report(out, e):
    """TRACE ERROR for a failure (message: what failed, where, never a secret); the traceback of
    an unexpected error on stderr as one block."""
    ft = "config_error" if isinstance(e, ConfigError) or getattr(e, "failure_type", None) == "config_error" else "system_error"
    msg = describe(e)
    ctx = _context[0]
    # a record the encoder cannot write: what ran is worth saying, json's own frames are not
    unwritable = getattr(e, "encode_problem", False) or (isinstance(e, ValueError) and "not JSON compliant" in str(e))
    if ctx and (unwritable or not isinstance(e, (ConfigError, KitError))):
        msg = "%s failed: %s" % (ctx, msg)
    if not unwritable and not isinstance(e, (ConfigError, KitError)):
        print_traceback(e)
    out.error(msg, ft, internal=type(e).__name__)


def main(obj, argv=None):
    """Run obj as an Airbyte-protocol connector with the command line (sys.argv[1:] by default)."""
    if argv is None:
        argv = sys.argv[1:]
    out = Out(sys.stdout.buffer)
    set_current(out)
    real = sys.stdout
    sys.stdout = sys.stderr  # author print()s go to stderr, never into the protocol
    code = 1
    try:
        code = _dispatch(obj, list(argv), out)
    except UsageError as e:
        sys.stderr.write("error: %s\n%s" % (e, USAGE))
        code = 2
    except KeyboardInterrupt:
        _quiet_exit(130)
    except BrokenPipeError:
        _quiet_exit(141)
    except SystemExit:
        raise
    except BaseException as e:
        try:
            report(out, e)
        except BrokenPipeError:
            _quiet_exit(141)
        code = 1
    try:
        out.flush_records()
        real.flush()
    except BrokenPipeError:
        _quiet_exit(141)
    except Exception:
        pass
    sys.stdout = real
    sys.exit(code)


def _dispatch(obj, argv, out):
    cmd, opts = parse_args(argv)
    if opts.get("help") or cmd is None:
        sys.stderr.write(USAGE)
        return 0 if opts.get("help") else 2
    kind = kit_kind(obj)
    if kind is None:
        raise KitError("connector_host.main() needs a @source, a @resource (or a list of them), or a paginated source, Reader or Writer class; got %s" % ("None" if obj is None else "a %s" % type(obj).__name__))
    commands = ("spec", "check", "write") if kind == "writer" else ("spec", "check", "discover", "read")
    if cmd not in commands:
        raise UsageError("unknown command %r; commands: %s" % (cmd, ", ".join(commands)))
    spec_type = obj.spec if isinstance(obj, SourceDef) else getattr(obj, "spec", None) if isinstance(obj, type) else None
    spec_obj = full_spec(spec_type)
    if cmd == "spec":
        out.message({"type": "SPEC", "spec": spec_obj})
        return 0
    from ._run import parse_state, shape_of

    shape = shape_of(obj)
    if "config" not in opts:
        raise UsageError("%s needs --config CONFIG.json" % cmd)
    raw = read_json_file(opts["config"], "config")
    register_secrets(spec_obj, raw)
    if cmd == "check":
        try:
            cfg = make_config(shape.spec_type(), raw)
            ok, why = shape.check(cfg)
        except ConfigError as e:
            msg = describe(e)
            out.error(msg, "config_error", internal="ConfigError")
            ok, why = False, msg
        st = {"status": "SUCCEEDED"} if ok else {"status": "FAILED", "message": mask(why or "the check failed")}
        out.message({"type": "CONNECTION_STATUS", "connectionStatus": st})
        return 0
    cfg = make_config(shape.spec_type(), raw)
    if cmd == "discover":
        out.message({"type": "CATALOG", "catalog": {"streams": shape.discover(cfg, out)}})
        return 0
    catalog = read_json_file(opts["catalog"], "catalog") if "catalog" in opts else None
    if cmd == "write":
        shape.write(cfg, catalog, out)
        return 0
    states = parse_state(read_json_file(opts["state"], "state")) if "state" in opts else {}
    shape.read(cfg, catalog, states, out)
    return 0
