"""Record processors: the ``@processor`` decorator and the child loop the host runs.

    import connector_host

    @connector_host.processor(streams=["users"], schemas={"users": {...}})
    def process(record, *args, **kwargs):
        return {**record, "email": record["email"].lower()}   # changed
        # return None                                          # dropped
        # return [a, b]                                        # split

A plain function works too (all streams, one record at a time). ``batch=True``: the function
gets the list of a batch's records and returns the list of output records.

The host starts one child per run: ``python3 -m connector_host.processor /abs/clean.py[:NAME]
[--vars FILE]`` (FILE: ``{"args": [...], "kwargs": {...}}``) and speaks with it in lines:

    child -> {"type":"PROCESSOR","streams":["users"]|null,"schemas":{...},"batch":false}
    host  -> {"type":"BATCH","id":1,"stream":"users","namespace":null,"records":[{...},...]}
    child -> {"type":"RESULT","id":1,"records":[...],"from":[0,0,2],
              "errors":[{"index":1,"message":"ValueError: bad x","where":"clean.py:12 in process"}]}

one RESULT per BATCH, in order; ``from`` is the index of the input record each output record
came from (absent for a batch function). EOF on stdin: exit 0. What the author's code writes to
stdout goes to stderr (the host logs it): the protocol has a descriptor of its own. Standard
library only.
"""

import importlib
import importlib.util
import json
import os
import sys
import traceback

__all__ = ["processor", "main"]

# The mark is an attribute, not a class: `python3 -m connector_host.processor` runs this file as
# __main__ while the author's `import connector_host` gets the package's copy of it.
_MARK = "__connector_host_processor__"
_KIT_DIR = os.path.dirname(os.path.abspath(__file__))


def _check_streams(streams):
    if streams is None:
        return None
    if isinstance(streams, str):
        return [streams]
    try:
        out = list(streams)
    except TypeError:
        raise TypeError("@processor(streams=...) takes a list of stream names, got %s" % type(streams).__name__)
    for s in out:
        if not isinstance(s, str) or not s:
            raise TypeError("@processor(streams=...): stream names are non-empty strings, got %r" % (s,))
    return out


def _check_schemas(schemas):
    if schemas is None:
        return {}
    if not isinstance(schemas, dict):
        raise TypeError("@processor(schemas=...) takes a dict {stream name: JSON Schema}, got %s" % type(schemas).__name__)
    for k, v in schemas.items():
        if not isinstance(k, str) or not isinstance(v, dict):
            raise TypeError("@processor(schemas=...): each entry is a stream name and a JSON Schema dict, got %r: %s" % (k, type(v).__name__))
    try:
        json.dumps(schemas, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError("@processor(schemas=...) is not JSON: %s" % e)
    return dict(schemas)


def processor(fn=None, streams=None, schemas=None, batch=False):
    """Mark a function as a record processor: ``@processor`` or ``@processor(streams=..., schemas=..., batch=...)``."""
    if fn is not None and not callable(fn):
        # @processor(["users"]): the first argument is the streams
        streams, fn = fn, None
    meta = {"streams": _check_streams(streams), "schemas": _check_schemas(schemas), "batch": bool(batch)}

    def mark(f):
        if not callable(f):
            raise TypeError("@processor goes on a function, not on %s" % type(f).__name__)
        try:
            setattr(f, _MARK, meta)
        except (AttributeError, TypeError):
            raise TypeError("@processor cannot mark %r (no attributes can be set on it); wrap it in a def" % (f,))
        return f

    return mark(fn) if fn is not None else mark


# ------------------------------------------------------------------------------------------------
# the child


class _StartError(Exception):
    """The processor cannot start: a message for the user (no traceback)."""


def _describe(obj):
    code = getattr(obj, "__code__", None)
    if code is not None:
        return "%s (%s:%d)" % (getattr(obj, "__name__", "?"), os.path.basename(code.co_filename), code.co_firstlineno)
    return getattr(obj, "__name__", repr(obj))


def _load_module(path):
    """Import the author's file (or package folder) by its path, as a module of its own name."""
    path = os.path.abspath(path)
    if os.path.isdir(path):
        if not os.path.isfile(os.path.join(path, "__init__.py")):
            raise _StartError("%s is a folder but not a Python package (no __init__.py)" % path)
        parent, name = os.path.split(path.rstrip(os.sep))
        sys.path.insert(0, parent)
        return importlib.import_module(name)
    if not os.path.isfile(path):
        raise _StartError("processor file not found: %s" % path)
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() and stem not in sys.modules and stem != "connector_host" else "_connector_host_processor_" + "".join(c if c.isalnum() else "_" for c in stem)
    # its own folder first, so that it imports its neighbours as a script would
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise _StartError("cannot import %s (not a Python file?)" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _candidates(module):
    marked, plain = [], []
    for k, v in vars(module).items():
        if k.startswith("_"):
            continue
        if callable(v) and getattr(v, _MARK, None) is not None:
            marked.append(k)
        elif callable(v) and getattr(v, "__module__", None) == module.__name__ and not isinstance(v, type):
            plain.append(k)
    return marked, plain


def _pick(module, name, where):
    marked, plain = _candidates(module)
    if name:
        if not hasattr(module, name):
            have = marked + plain
            raise _StartError("%s has no %r (it has: %s)" % (where, name, ", ".join(have) or "no functions"))
        obj = getattr(module, name)
        if not callable(obj):
            raise _StartError("%s:%s is a %s, not a function" % (where, name, type(obj).__name__))
        return obj
    if len(marked) == 1:
        return getattr(module, marked[0])
    if len(marked) > 1:
        raise _StartError("%s has several processors (%s): name one, e.g. %s:%s" % (where, ", ".join(marked), where, marked[0]))
    if "process" in plain:
        return getattr(module, "process")
    if len(plain) == 1:
        return getattr(module, plain[0])
    if not plain:
        raise _StartError("%s has no function to use as a processor (define process(record), or mark one with @connector_host.processor)" % where)
    raise _StartError("%s has several functions (%s) and none is marked @connector_host.processor or named process: name one, e.g. %s:%s" % (where, ", ".join(plain), where, plain[0]))


def _split_target(target):
    """PATH[:NAME] -> (path, name): NAME is an identifier after the last colon."""
    head, sep, tail = target.rpartition(":")
    if sep and head and tail.isidentifier() and not os.path.exists(target):
        return head, tail
    return target, None


def load(target):
    """The function and its settings for a TARGET ``PATH[:NAME]``."""
    path, name = _split_target(target)
    where = os.path.basename(path.rstrip(os.sep)) or path
    module = _load_module(path)
    fn = _pick(module, name, where)
    meta = getattr(fn, _MARK, None) or {"streams": None, "schemas": {}, "batch": False}
    return fn, meta


def _load_vars(file):
    try:
        with open(file, "rb") as f:
            v = json.loads(f.read().decode("utf-8"))
    except OSError as e:
        raise _StartError("cannot read the vars file %s: %s" % (file, e.strerror or e))
    except ValueError as e:
        raise _StartError("the vars file %s is not JSON: %s" % (file, e))
    if not isinstance(v, dict):
        raise _StartError('the vars file %s must be an object {"args": [...], "kwargs": {...}}' % file)
    extra = [k for k in v if k not in ("args", "kwargs")]
    if extra:
        raise _StartError('the vars file %s has %s; it holds only "args" (a list) and "kwargs" (an object), e.g. {"kwargs": {%s: ...}}' % (file, ", ".join(repr(k) for k in extra), json.dumps(extra[0])))
    args = v.get("args", [])
    kwargs = v.get("kwargs", {})
    if not isinstance(args, list):
        raise _StartError('the vars file %s: "args" must be a list' % file)
    if not isinstance(kwargs, dict):
        raise _StartError('the vars file %s: "kwargs" must be an object' % file)
    return args, kwargs


def _frame_where(tb, author):
    """file:line in function of the deepest frame of the author's code (else the deepest outside the kit)."""
    frames = traceback.extract_tb(tb)
    pick = None
    for fr in frames:
        f = os.path.abspath(fr.filename)
        if author and (f == author or f.startswith(author.rstrip(os.sep) + os.sep)):
            pick = fr
    if pick is None:
        for fr in frames:
            if not os.path.abspath(fr.filename).startswith(_KIT_DIR + os.sep):
                pick = fr
    if pick is None and frames:
        pick = frames[-1]
    if pick is None:
        return None
    return "%s:%s in %s" % (os.path.basename(pick.filename), pick.lineno, pick.name)


def _def_where(fn):
    code = getattr(fn, "__code__", None)
    if code is None:
        return None
    return "%s:%d in %s" % (os.path.basename(code.co_filename), code.co_firstlineno, code.co_name)


def _message(e):
    text = str(e)
    return "%s: %s" % (type(e).__name__, text) if text else type(e).__name__


class _Returned(Exception):
    """The author's function returned something that is not records."""


_ENC = None  # (encode, default, mark, unmark, KitError), made on first use


def _make_encode(default):
    """A function with the text of json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
    allow_nan=False, default=default), made once: json.dumps with arguments builds an encoder per
    call, which costs more than encoding a small record."""
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=default).encode
    try:
        from json.encoder import c_make_encoder, encode_basestring
    except ImportError:
        return encode
    if c_make_encoder is None:
        return encode

    def make():
        # what JSONEncoder.iterencode builds per call (markers: the circular-reference check)
        return c_make_encoder({}, default, encode_basestring, None, ":", ",", False, False, False)

    try:
        probe = {"a": [1, -2.5, 10**30, "\u00e9\u2028\"\\", None, True], "b": {}, "c": []}
        if "".join(make()(probe, 0)) != encode(probe):
            return encode
    except Exception:
        return encode
    state = [make()]

    def fast(obj):
        try:
            return "".join(state[0](obj, 0))
        except BaseException:
            state[0] = make()  # its markers may still hold what it was walking
            raise

    return fast


def _encoder():
    global _ENC
    if _ENC is None:
        from ._errors import KitError
        from ._out import _default, _MARK, _unmark

        _ENC = (_make_encode(_default), _default, _MARK, _unmark, KitError)
    return _ENC


def _encode(obj):
    # the source kit's rules for values JSON has no type for (datetime, Decimal digit for digit, ...)
    encode, default, mark, unmark, _ = _ENC or _encoder()
    text = encode(obj)
    if mark in text:
        text = unmark(text)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # a lone surrogate (from a \\ud800 escape in the input): kept as an escape
        text = json.dumps(obj, separators=(",", ":"), allow_nan=False, default=default)
        return (unmark(text) if mark in text else text).encode("ascii")


def _encode_record(obj, what):
    if not isinstance(obj, dict):
        raise _Returned("%s is %s, not a dict (a record is a JSON object)" % (what, type(obj).__name__))
    try:
        return _encode(obj)
    except (TypeError, ValueError, (_ENC or _encoder())[4]) as e:
        raise _Returned("%s is not JSON: %s" % (what, e))


def _outputs(res, name):
    """The encoded records of one call's result: a dict, None, or a list/tuple/iterable of dicts."""
    if res is None:
        return []
    if isinstance(res, dict):
        return [_encode_record(res, "the record %s returned" % name)]
    if isinstance(res, (str, bytes, int, float, bool)):
        raise _Returned("%s returned %s; return a dict (the changed record), None (drop it) or a list of dicts (split it)" % (name, type(res).__name__))
    try:
        items = iter(res)
    except TypeError:
        raise _Returned("%s returned %s; return a dict (the changed record), None (drop it) or a list of dicts (split it)" % (name, type(res).__name__))
    return [_encode_record(x, "item %d of what %s returned" % (k, name)) for k, x in enumerate(items)]


class _Child(object):
    def __init__(self, fn, meta, args, kwargs, author):
        self.fn = fn
        self.meta = meta
        self.args = args
        self.kwargs = kwargs
        self.author = author
        self.name = "%s()" % getattr(fn, "__name__", "process")

    def _error(self, index, e):
        if isinstance(e, _Returned):
            where = _def_where(self.fn)
            msg = str(e)
        else:
            where = _frame_where(e.__traceback__, self.author)
            msg = _message(e)
        err = {"index": index, "message": msg}
        if where:
            err["where"] = where
        return err

    def batch(self, records):
        out, frm, errors = [], [], []
        if self.meta.get("batch"):
            try:
                res = self.fn(records, *self.args, **self.kwargs)
                if res is None:
                    raise _Returned("%s returned None; a batch processor returns the list of output records ([] to drop them all)" % self.name)
                if isinstance(res, dict):
                    raise _Returned("%s returned a dict; a batch processor returns a list of records" % self.name)
                out = _outputs(res, self.name)
            except Exception as e:
                out, errors = [], [self._error(-1, e)]
            return out, None, errors
        fn, args, kwargs = self.fn, self.args, self.kwargs
        what = "the record %s returned" % self.name
        for i, record in enumerate(records):
            try:
                res = fn(record, *args, **kwargs)
                if type(res) is dict:
                    # the usual case, one record out: no list per record
                    enc = _encode_record(res, what)
                    out.append(enc)
                    frm.append(i)
                    continue
                enc = _outputs(res, self.name)
            except Exception as e:
                errors.append(self._error(i, e))
                continue
            out.extend(enc)
            frm.extend([i] * len(enc))
        return out, frm, errors


def _write(out, data):
    out.write(data)
    out.flush()


def _fail_start(out, message):
    sys.stderr.write("connector_host.processor: %s\n" % message)
    sys.stderr.flush()
    _write(out, _encode({"type": "TRACE", "trace": {"type": "ERROR", "error": {"message": message, "failure_type": "config_error"}}}) + b"\n")
    return 1


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # stdout carries the protocol: it moves to a private descriptor, and what the author's code
    # writes to stdout (print, sys.stdout, even os.write(1) or a C library) goes to stderr
    sys.stdout.flush()
    try:
        out = os.fdopen(os.dup(1), "wb")
        os.dup2(2, 1)
    except OSError:
        out = sys.stdout.buffer
    sys.stdout = sys.stderr
    try:
        # connector_host.log() in author code: LOG lines on the protocol's stdout
        from connector_host import _out

        _out.set_current(_out.Out(out))
    except Exception:
        pass
    target, vars_file = None, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--vars" and i + 1 < len(argv):
            vars_file = argv[i + 1]
            i += 2
            continue
        if target is None and not a.startswith("--"):
            target = a
            i += 1
            continue
        return _fail_start(out, "usage: python3 -m connector_host.processor PATH[:NAME] [--vars FILE] (unexpected %r)" % a)
    if target is None:
        return _fail_start(out, "usage: python3 -m connector_host.processor PATH[:NAME] [--vars FILE]")
    try:
        args, kwargs = _load_vars(vars_file) if vars_file else ([], {})
        fn, meta = load(target)
    except _StartError as e:
        return _fail_start(out, str(e))
    except Exception as e:
        path = os.path.abspath(_split_target(target)[0])
        where = _frame_where(e.__traceback__, path)
        return _fail_start(out, "cannot load the processor %s: %s%s" % (target, _message(e), " (%s)" % where if where else ""))
    author = os.path.abspath(_split_target(target)[0])
    child = _Child(fn, meta, args, kwargs, author)
    _write(out, _encode({"type": "PROCESSOR", "streams": meta.get("streams"), "schemas": meta.get("schemas") or {}, "batch": bool(meta.get("batch"))}) + b"\n")
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            return 0
        if not line.strip():
            continue
        try:
            msg = json.loads(line.decode("utf-8", "replace"))
        except ValueError as e:
            sys.stderr.write("connector_host.processor: the host sent a line that is not JSON (%s)\n" % e)
            return 2
        if not isinstance(msg, dict) or msg.get("type") != "BATCH" or not isinstance(msg.get("records"), list):
            sys.stderr.write("connector_host.processor: the host sent something other than a BATCH\n")
            return 2
        records, frm, errors = child.batch(msg["records"])
        head = {"type": "RESULT", "id": msg.get("id")}
        parts = [_encode(head)[:-1], b',"records":[', b",".join(records), b"]"]
        if frm is not None:
            parts += [b',"from":', _encode(frm)]
        parts += [b',"errors":', _encode(errors), b"}\n"]
        _write(out, b"".join(parts))


if __name__ == "__main__":
    sys.exit(main())
elif getattr(sys, "argv", [None])[0] == "-m":
    # Imported by the package's __init__ while `python3 -m connector_host.processor` starts: runpy
    # then runs this file again as __main__ and would warn that it was imported first. That is
    # expected here (the mark is an attribute, so either copy's decorator works): no warning.
    import warnings

    warnings.filterwarnings("ignore", message=".*'connector_host.processor' found in sys.modules", category=RuntimeWarning)
