"""The author-facing API: @resource, @source, Stream, secret(), log(), retry(), base classes."""

import sys

from ._errors import ConfigError, TransientError, KitError, where, mask

WRITE_DISPOSITIONS = ("append", "replace", "merge")


def _nargs(fn):
    code = getattr(fn, "__code__", None)
    if code is None:
        return 2
    if code.co_flags & 0x04:  # *args
        return 2
    n = code.co_argcount
    if hasattr(fn, "__self__"):
        n -= 1
    return n


def _defined_at(fn):
    code = getattr(fn, "__code__", None)
    if code is None:
        return getattr(fn, "__name__", repr(fn))
    return where(code.co_filename, code.co_firstlineno, code.co_name)


def _pk_list(pk):
    """primary_key as the protocol's list of paths."""
    if pk is None:
        return None
    if isinstance(pk, str):
        return [[pk]]
    out = []
    for p in pk:
        out.append([p] if isinstance(p, str) else list(p))
    return out


class ResourceDef:
    """A generator function `(config, state)` made a stream by @resource."""

    kit_kind = "resource"

    def __init__(self, fn, name=None, primary_key=None, cursor=None, write_disposition="append", schema=None):
        if not callable(fn):
            raise KitError("@resource needs a function, got %s" % type(fn).__name__)
        if write_disposition not in WRITE_DISPOSITIONS:
            raise KitError("@resource %s: write_disposition must be one of %s, not %r (%s)" % (name or fn.__name__, ", ".join(WRITE_DISPOSITIONS), write_disposition, _defined_at(fn)))
        if write_disposition == "merge" and not primary_key:
            raise KitError("@resource %s: write_disposition \"merge\" needs a primary_key (%s)" % (name or fn.__name__, _defined_at(fn)))
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "resource")
        self.primary_key = primary_key
        self.cursor = cursor
        self.write_disposition = write_disposition
        self.schema = schema
        self.__name__ = self.name
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__module__ = getattr(fn, "__module__", None)
        self.nargs = _nargs(fn)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def open(self, config, state):
        n = self.nargs
        return self.fn(config, state) if n >= 2 else self.fn(config) if n == 1 else self.fn()

    @property
    def defined_at(self):
        return _defined_at(self.fn)

    def __repr__(self):
        return "<resource %s>" % self.name


def resource(fn=None, name=None, primary_key=None, cursor=None, write_disposition="append", schema=None):
    """@resource or @resource(name=..., primary_key=..., cursor=..., write_disposition=..., schema=...)."""

    def wrap(f):
        return ResourceDef(f, name=name, primary_key=primary_key, cursor=cursor, write_disposition=write_disposition, schema=schema)

    if fn is not None and callable(fn) and not isinstance(fn, str):
        return wrap(fn)
    if isinstance(fn, str) and name is None:
        name = fn
    return wrap


class SourceDef:
    """A function `(config)` returning resources, made a source by @source."""

    kit_kind = "source"

    def __init__(self, fn, spec=None, name=None, check=None):
        self.fn = fn
        self.spec = spec
        self.name = name or getattr(fn, "__name__", "source")
        self.check = check
        self.__name__ = self.name
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__module__ = getattr(fn, "__module__", None)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def resources(self, config):
        n = _nargs(self.fn)
        got = self.fn(config) if n >= 1 else self.fn()
        return collect_resources(got, "source %s (%s)" % (self.name, _defined_at(self.fn)))

    def __repr__(self):
        return "<source %s>" % self.name


def source(fn=None, spec=None, name=None, check=None):
    """@source or @source(spec=..., name=...) on a function `(config)` returning resources.
    `check` (optional): a function `(config)` run by `check`, like check_connection."""

    def wrap(f):
        return SourceDef(f, spec=spec, name=name, check=check)

    if fn is not None and callable(fn) and not isinstance(fn, dict) and not isinstance(fn, type):
        return wrap(fn)
    if fn is not None and spec is None:
        spec = fn
    return wrap


def collect_resources(got, what):
    """A list of ResourceDef from what a source returned; duplicate names are an error."""
    if isinstance(got, ResourceDef):
        got = [got]
    elif isinstance(got, dict):
        got = list(got.values())
    if got is None:
        raise KitError("%s returned None; return a list of resources" % what)
    try:
        items = list(got)
    except TypeError:
        raise KitError("%s returned a %s; return a list of resources" % (what, type(got).__name__))
    out = []
    for i, r in enumerate(items):
        if isinstance(r, ResourceDef):
            out.append(r)
        elif callable(r) and getattr(r, "__code__", None) is not None:
            out.append(ResourceDef(r))
        else:
            raise KitError("%s returned a %s at position %d; expected resources (functions decorated with @resource)" % (what, type(r).__name__, i))
    seen = {}
    for r in out:
        if r.name in seen:
            a = seen[r.name]
            raise KitError("two resources are named %r: %s and %s; give one a name=... of its own" % (r.name, a.defined_at, r.defined_at))
        seen[r.name] = r
    return out


class Stream:
    """A stream of a paginated source or reader class (what `streams()` returns; plain strings
    are accepted too)."""

    def __init__(self, name, primary_key=None, cursor=None, schema=None, write_disposition="append"):
        self.name = name
        self.primary_key = primary_key
        self.cursor = cursor
        self.schema = schema
        self.write_disposition = write_disposition

    def __repr__(self):
        return "Stream(%r)" % self.name


def as_streams(got, what):
    if isinstance(got, (str, Stream)):
        got = [got]
    out = []
    for s in got or []:
        if isinstance(s, str):
            out.append(Stream(s))
        elif isinstance(s, Stream):
            out.append(s)
        elif isinstance(s, dict) and "name" in s:
            out.append(Stream(**s))
        elif hasattr(s, "name"):
            out.append(Stream(s.name, getattr(s, "primary_key", None), getattr(s, "cursor", None), getattr(s, "schema", None), getattr(s, "write_disposition", "append")))
        else:
            raise KitError("%s returned a %s; expected stream names or connector_host.Stream" % (what, type(s).__name__))
    names = [s.name for s in out]
    dup = sorted(set(n for n in names if names.count(n) > 1))
    if dup:
        raise KitError("%s returned the stream name %s twice" % (what, ", ".join(repr(d) for d in dup)))
    return out


_MISSING = object()


def secret(default=_MISSING, **kw):
    """A dataclass field that holds a secret: `airbyte_secret: true` in the spec, masked in the
    kit's messages. `secret()` (no default: required), `secret("x")`, `secret(default_factory=...)`."""
    import dataclasses

    md = dict(kw.pop("metadata", None) or {})
    md["secret"] = True
    if default is _MISSING:
        return dataclasses.field(metadata=md, **kw)
    return dataclasses.field(default=default, metadata=md, **kw)


_LEVELS = {"WARNING": "WARN", "CRITICAL": "FATAL", "ERR": "ERROR"}


def log(message, level="INFO"):
    """A LOG message on stdout (secret values masked)."""
    from ._out import current

    lv = str(level).upper()
    lv = _LEVELS.get(lv, lv)
    if lv not in ("FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"):
        lv = "INFO"
    current().log(str(message), lv)


def _retriable_http(e):
    code = getattr(e, "code", None)
    if code is None or not isinstance(code, int):
        return True
    return code >= 500 or code in (408, 425, 429)


def _default_on():
    import urllib.error

    return (TransientError, ConnectionError, TimeoutError, urllib.error.URLError)


def retry(fn, *args, attempts=5, backoff=0.5, max_backoff=30.0, on=None, **kwargs):
    """fn(*args, **kwargs), retried on transient errors with exponential backoff and jitter; a
    LOG WARN per retry; the last error re-raised. HTTP errors other than 408/425/429/5xx are
    not retried. on: the exception types to retry (default TransientError, ConnectionError,
    TimeoutError, urllib.error.URLError)."""
    import random
    import time

    kinds = _default_on() if on is None else on
    attempts = max(1, int(attempts))
    name = getattr(fn, "__name__", "the call")
    for i in range(1, attempts + 1):
        try:
            return fn(*args, **kwargs)
        except kinds as e:
            if i >= attempts or not _retriable_http(e):
                raise
            delay = min(float(max_backoff), float(backoff) * (2 ** (i - 1)))
            delay = delay * (0.5 + random.random() / 2)
            ra = None
            try:
                ra = e.headers.get("Retry-After") if getattr(e, "headers", None) is not None else None
                ra = float(ra) if ra is not None else None
            except Exception:
                ra = None
            if ra is not None and 0 <= ra <= float(max_backoff):
                delay = max(delay, ra)
            log("%s failed (%s: %s), attempt %d of %d; retrying in %.2f s" % (name, type(e).__name__, mask(str(e)), i, attempts, delay), "WARN")
            time.sleep(delay)


def retrying(fn=None, attempts=5, backoff=0.5, max_backoff=30.0, on=None):
    """The retry() helper as a decorator: @retrying or @retrying(attempts=3, ...)."""

    def wrap(f):
        def inner(*a, **kw):
            return retry(f, *a, attempts=attempts, backoff=backoff, max_backoff=max_backoff, on=on, **kw)

        inner.__name__ = getattr(f, "__name__", "inner")
        inner.__doc__ = getattr(f, "__doc__", None)
        inner.__wrapped__ = f
        return inner

    if fn is not None and callable(fn):
        return wrap(fn)
    return wrap


class PaginatedSource:
    """Optional base of a paginated source (Bizon shape). Override streams() and get()."""

    spec = None

    def __init__(self, config):
        self.config = config

    def streams(self):
        raise NotImplementedError

    def check_connection(self, config):
        return True

    def get_total_records_count(self, stream):
        return None

    def get(self, stream, pagination):
        raise NotImplementedError


class Reader:
    """Optional base of a reader (Dativo shape). Override extract(state)."""

    spec = None

    def __init__(self, config):
        self.config = config

    def extract(self, state):
        raise NotImplementedError


class Writer:
    """Optional base of a writer (a protocol destination). Override write_batch() and commit()."""

    spec = None
    batch_size = 1000

    def __init__(self, config):
        self.config = config

    def write_batch(self, stream, records):
        raise NotImplementedError

    def commit(self):
        pass

    def close(self):
        pass


BASES = (PaginatedSource, Reader, Writer)


def kit_kind(obj):
    """What kind of kit object obj is, or None."""
    if isinstance(obj, (ResourceDef, SourceDef)):
        return obj.kit_kind
    if isinstance(obj, type):
        if obj in BASES:
            return None
        if hasattr(obj, "write_batch"):
            return "writer"
        if hasattr(obj, "extract"):
            return "reader"
        if hasattr(obj, "get") and hasattr(obj, "streams"):
            return "paginated"
        return None
    if isinstance(obj, (list, tuple)) and obj and all(isinstance(r, ResourceDef) for r in obj):
        return "resources"
    return None
