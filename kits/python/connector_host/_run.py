"""The commands of every kit shape: check, discover, read (resources, paginated classes,
readers) and write (writers). Imported for every command but spec."""

import sys
from time import monotonic as _monotonic

from ._errors import ConfigError, KitError, describe, where, mask, context as _context
from ._out import BATCH_BYTES, encode

FLUSH_SECONDS = 0.5
from ._api import ResourceDef, SourceDef, Stream, kit_kind, collect_resources, as_streams, _pk_list, _defined_at, _nargs
from ._config import full_spec


# ---- helpers -------------------------------------------------------------------------------

def _call_where(fn):
    return _defined_at(getattr(fn, "__func__", fn))


def _yield_where(gen, fallback):
    fr = getattr(gen, "gi_frame", None)
    if fr is not None:
        return where(fr.f_code.co_filename, fr.f_lineno, fr.f_code.co_name)
    return fallback


def _type_name(v):
    return "None" if v is None else "a %s" % type(v).__name__


def _as_records(item, what):
    """The records of one yielded item (a dict, or a list of dicts)."""
    if isinstance(item, dict):
        return [item]
    if isinstance(item, (list, tuple)):
        for i, r in enumerate(item):
            if not isinstance(r, dict):
                if hasattr(r, "keys") and hasattr(r, "__getitem__"):
                    item = [dict(x) if not isinstance(x, dict) and hasattr(x, "keys") else x for x in item]
                    return _as_records(item, what)
                raise KitError("%s: a list with %s at index %d, not a dict; yield dicts or lists of dicts" % (what(), _type_name(r), i))
        return item
    if hasattr(item, "keys") and hasattr(item, "__getitem__"):
        return [dict(item)]
    raise KitError("%s: %s, not a dict; yield dicts or lists of dicts" % (what(), _type_name(item)))


def _cursor_max(mx, v, name, cursor):
    try:
        return v if mx is None or v > mx else mx
    except TypeError:
        raise KitError("stream %r: the cursor field %r has values of different types (%s and %s); they cannot be compared" % (name, cursor, type(mx).__name__, type(v).__name__))


def _catalog_entry(name, schema, pk=None, cursor=None, write_disposition="append"):
    s = {"name": name, "json_schema": schema, "supported_sync_modes": ["full_refresh"]}
    if cursor and write_disposition != "replace":
        s["supported_sync_modes"] = ["full_refresh", "incremental"]
        s["source_defined_cursor"] = True
        s["default_cursor_field"] = [cursor] if isinstance(cursor, str) else list(cursor)
    pkl = _pk_list(pk)
    if pkl:
        s["source_defined_primary_key"] = pkl
    return s


def _check_result(r, what):
    if r is None or r is True:
        return True, None
    if r is False:
        return False, "%s returned False" % what
    if isinstance(r, (tuple, list)) and len(r) >= 1:
        ok = bool(r[0])
        msg = r[1] if len(r) > 1 else None
        return ok, (None if ok else (str(msg) if msg is not None else "%s returned False" % what))
    if isinstance(r, str):
        return False, r
    return bool(r), None if r else "%s returned %r" % (what, r)


def parse_state(v):
    """stream name → stream_state from a list of AirbyteStateMessages (STREAM, GLOBAL, LEGACY),
    one such message, or a legacy dict {stream: state}."""
    out = {}
    if v is None:
        return out
    if isinstance(v, dict) and (v.get("type") in ("STREAM", "GLOBAL", "LEGACY", "STATE") or "stream" in v and isinstance(v.get("stream"), dict) and "stream_descriptor" in v["stream"]):
        v = [v]
    if isinstance(v, list):
        for m in v:
            if not isinstance(m, dict):
                continue
            if m.get("type") == "STATE" and isinstance(m.get("state"), dict):
                m = m["state"]
            t = m.get("type")
            if (t == "STREAM" or t is None) and isinstance(m.get("stream"), dict):
                d = m["stream"].get("stream_descriptor") or {}
                if isinstance(d, dict) and isinstance(d.get("name"), str):
                    ss = m["stream"].get("stream_state")
                    out[d["name"]] = ss if isinstance(ss, dict) else {}
            elif t == "GLOBAL" and isinstance(m.get("global"), dict):
                for ss in m["global"].get("stream_states") or []:
                    if isinstance(ss, dict):
                        d = ss.get("stream_descriptor") or {}
                        if isinstance(d, dict) and isinstance(d.get("name"), str):
                            st = ss.get("stream_state")
                            out[d["name"]] = st if isinstance(st, dict) else {}
            elif (t == "LEGACY" or t is None) and isinstance(m.get("data"), dict):
                out.update(parse_state(m["data"]))
        return out
    if isinstance(v, dict):
        for k, s in v.items():
            if isinstance(s, dict):
                out[k] = s
    return out


def _plan(names_defaults, catalog, out):
    """[(name, incremental)] in the configured catalog's order (all streams without a catalog)."""
    if catalog is None:
        return [(n, inc) for n, inc in names_defaults]
    known = dict(names_defaults)
    streams = catalog.get("streams") if isinstance(catalog, dict) else None
    if not isinstance(streams, list):
        raise ConfigError("the configured catalog has no \"streams\" list")
    plan = []
    for c in streams:
        if not isinstance(c, dict):
            continue
        s = c.get("stream") if isinstance(c.get("stream"), dict) else c
        name = s.get("name")
        if name not in known:
            out.log("the catalog names a stream %r this connector does not have (it has %s); skipped" % (name, ", ".join(repr(k) for k in known) or "none"), "WARN")
            continue
        if any(p == name for p, _ in plan):
            continue
        plan.append((name, c.get("sync_mode") == "incremental"))
    return plan


# ---- shapes --------------------------------------------------------------------------------

class Shape:
    kind = None
    commands = ("spec", "check", "discover", "read")

    def __init__(self, obj):
        self.obj = obj

    def spec_obj(self):
        return full_spec(getattr(self.obj, "spec", None))

    def label(self):
        return getattr(self.obj, "__name__", repr(self.obj))


def _sample_items(items, what, limit, label):
    """Up to `limit` records for schema inference. An error after some records ends the sample
    (a WARN log); an error before any is the command's error."""
    got = []
    it = iter(items)
    while len(got) < limit:
        try:
            item = next(it)
        except StopIteration:
            break
        except KitError:
            raise
        except Exception as e:
            if not got:
                raise
            from ._out import current

            current().log("%s raised after %d records while sampling them for its schema (%s); the schema is inferred from those" % (label, len(got), describe(e)), "WARN")
            break
        got.extend(_as_records(item, what))
    return got[:limit]


class ResourcesShape(Shape):
    """A @source, a resource or a list of resources."""

    def __init__(self, obj):
        Shape.__init__(self, obj)
        self.source = obj if isinstance(obj, SourceDef) else None
        if self.source is None:
            self.fixed = collect_resources(obj, "the resource list")

    def spec_obj(self):
        return full_spec(self.source.spec if self.source else None)

    def spec_type(self):
        return self.source.spec if self.source else None

    def resources(self, cfg):
        if self.source is None:
            return self.fixed
        _context[0] = "source %r" % self.source.name
        return self.source.resources(cfg)

    def check(self, cfg):
        self.resources(cfg)
        if self.source is not None and self.source.check is not None:
            fn = self.source.check
            return _check_result(fn(cfg) if _nargs(fn) >= 1 else fn(), "the check of source %r" % self.source.name)
        return True, None

    def discover(self, cfg, out):
        from ._schema import infer, SAMPLE

        streams = []
        for r in self.resources(cfg):
            schema = r.schema
            if schema is None:
                _context[0] = "resource %r (sampling records for its schema)" % r.name
                gen = r.open(cfg, {})
                if gen is None:
                    raise KitError("resource %r returned None; it must yield records (%s)" % (r.name, r.defined_at))
                schema = infer(_sample_items(gen, lambda: "resource %r yielded at %s" % (r.name, _yield_where(gen, r.defined_at)), SAMPLE, "resource %r" % r.name))
                close = getattr(gen, "close", None)
                if close:
                    close()
            streams.append(_catalog_entry(r.name, schema, r.primary_key, r.cursor, r.write_disposition))
        return streams

    def read(self, cfg, catalog, states, out):
        rs = self.resources(cfg)
        by = {r.name: r for r in rs}
        plan = _plan([(r.name, bool(r.cursor) and r.write_disposition != "replace") for r in rs], catalog, out)
        for name, inc in plan:
            read_resource(out, by[name], cfg, states.get(name) or {}, inc)


def read_resource(out, res, config, st_in, incremental):
    name = res.name
    _context[0] = "resource %r" % name
    out.status(name, "STARTED")
    state = dict(st_in) if incremental else {}
    cursor = res.cursor
    initial = state.get(cursor) if cursor else None
    mx = None
    try:
        gen = res.open(config, state)
        if gen is None:
            raise KitError("resource %r returned None; it must yield records (%s)" % (name, res.defined_at))
        try:
            it = iter(gen)
        except TypeError:
            raise KitError("resource %r returned %s; it must be a generator yielding dicts (%s)" % (name, _type_name(gen), res.defined_at))
        out.begin_records(name, lambda: out.status_text(name, "RUNNING"))
        buf = out.buf
        append = buf.append
        enc = encode
        limit = BATCH_BYTES
        size = 0
        clock = _monotonic
        due = clock() + FLUSH_SECONDS  # a slow generator's records are not held back longer

        def what():
            return "resource %r yielded at %s" % (name, _yield_where(gen, res.defined_at))

        def state_now(mx):
            s = dict(state)
            if cursor and mx is not None and state.get(cursor) == initial:
                if initial is None or _cursor_max(initial, mx, name, cursor) is mx:
                    s[cursor] = mx
            return s

        if cursor is None:
            for item in it:
                if type(item) is dict:
                    s = enc(item)
                    append(s)
                    size += len(s)
                    if size >= limit or clock() >= due:
                        out.flush_records()
                        size = 0
                        due = clock() + FLUSH_SECONDS
                else:
                    for r in _as_records(item, what):
                        append(enc(r))
                    if isinstance(item, (list, tuple)):
                        out.flush_records()
                        out.state(name, state_now(None))
                        size = 0
        else:
            for item in it:
                if type(item) is dict:
                    s = enc(item)
                    append(s)
                    size += len(s)
                    v = item.get(cursor)
                    if v is not None:
                        try:
                            if mx is None or v > mx:
                                mx = v
                        except TypeError:
                            _cursor_max(mx, v, name, cursor)
                    if size >= limit or clock() >= due:
                        out.flush_records()
                        size = 0
                        due = clock() + FLUSH_SECONDS
                else:
                    for r in _as_records(item, what):
                        append(enc(r))
                        v = r.get(cursor)
                        if v is not None:
                            mx = _cursor_max(mx, v, name, cursor)
                    if isinstance(item, (list, tuple)):
                        out.flush_records()
                        out.state(name, state_now(mx))
                        size = 0
        out.flush_records()
        out.state(name, state_now(mx))
    except Exception:
        _incomplete(out, name)
        raise
    out.status(name, "COMPLETE")
    _context[0] = None


def _incomplete(out, name):
    try:
        out.flush_records()
        out.status(name, "INCOMPLETE")
    except Exception:
        pass


class ClassShape(Shape):
    def __init__(self, cls):
        Shape.__init__(self, cls)
        self.inst = None

    def spec_type(self):
        return getattr(self.obj, "spec", None)

    def instance(self, cfg):
        if self.inst is None:
            _context[0] = "%s(config)" % self.obj.__name__
            self.inst = self.obj(cfg)
        return self.inst

    def streams(self, cfg):
        inst = self.instance(cfg)
        if hasattr(inst, "streams"):
            _context[0] = "%s.streams()" % self.obj.__name__
            got = inst.streams()
        else:
            got = getattr(inst, "stream", None) or getattr(inst, "name", None) or self.obj.__name__
        return as_streams(got, "%s.streams()" % self.obj.__name__)

    def check(self, cfg):
        inst = self.instance(cfg)
        cname = self.obj.__name__
        for meth in ("check_connection", "check"):
            fn = getattr(inst, meth, None)
            if fn is not None and callable(fn):
                _context[0] = "%s.%s()" % (cname, meth)
                return _check_result(fn(cfg) if _nargs(fn) >= 1 else fn(), "%s.%s()" % (cname, meth))
        return True, None


def _page(res, what):
    if isinstance(res, tuple) and len(res) == 2:
        return res
    if isinstance(res, list) and len(res) == 2 and isinstance(res[0], list):
        return res[0], res[1]
    if hasattr(res, "records") and hasattr(res, "next_pagination"):
        return res.records, res.next_pagination
    if isinstance(res, dict) and "records" in res:
        return res["records"], res.get("next_pagination")
    raise KitError("%s returned %s; return (records, next_pagination) or an object with .records and .next_pagination" % (what, _type_name(res)))


class PaginatedShape(ClassShape):
    kind = "paginated"

    def discover(self, cfg, out):
        from ._schema import infer, SAMPLE

        inst = self.instance(cfg)
        streams = []
        for s in self.streams(cfg):
            schema = s.schema
            if schema is None:
                schema = infer(_sample_items(self._pages(inst, s.name), lambda: "%s.get(%r) returned in its records" % (self.obj.__name__, s.name), SAMPLE, "%s.get(%r)" % (self.obj.__name__, s.name)))
            streams.append(_catalog_entry(s.name, schema, s.primary_key, s.cursor, s.write_disposition))
        return streams

    def _pages(self, inst, name):
        pagination = None
        for _ in range(50):
            _context[0] = "%s.get(%r) (sampling records for its schema)" % (self.obj.__name__, name)
            page, nxt = _page(inst.get(name, pagination), "%s.get()" % self.obj.__name__)
            yield list(page or [])
            if not nxt or nxt == pagination:
                return
            pagination = nxt

    def read(self, cfg, catalog, states, out):
        inst = self.instance(cfg)
        ss = self.streams(cfg)
        by = {s.name: s for s in ss}
        plan = _plan([(s.name, bool(s.cursor) and s.write_disposition != "replace") for s in ss], catalog, out)
        for name, inc in plan:
            self.read_stream(out, inst, by[name], states.get(name) or {}, inc)

    def read_stream(self, out, inst, s, st_in, incremental):
        name = s.name
        cname = self.obj.__name__
        _context[0] = "%s, stream %r" % (cname, name)
        out.status(name, "STARTED")
        try:
            count = getattr(inst, "get_total_records_count", None)
            if count is not None:
                _context[0] = "%s.get_total_records_count(%r)" % (cname, name)
                n = count(name)
                if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
                    out.estimate(name, n)
            pagination = st_in.get("pagination") or None
            cs0 = dict(st_in.get("cursor_state") or {}) if incremental else {}
            after = getattr(inst, "get_records_after", None) if incremental and cs0 else None
            cursor = s.cursor
            initial = cs0.get(cursor) if cursor else None
            mx = None
            if pagination is not None and cursor and isinstance(st_in.get("cursor_seen"), dict):
                mx = st_in["cursor_seen"].get(cursor)  # resuming: the max of the pages already read
            out.begin_records(name, lambda: out.status_text(name, "RUNNING"))
            append = out.buf.append
            meth = "get_records_after" if after is not None else "get"
            fn = after if after is not None else inst.get
            while True:
                _context[0] = "%s.%s(%r, pagination=%s)" % (cname, meth, name, mask(encode(pagination)) if pagination is not None else "None")
                res = fn(name, dict(cs0), pagination) if after is not None else fn(name, pagination)
                records, nxt = _page(res, "%s.%s()" % (cname, meth))
                if records is None:
                    records = []
                recs = _as_records(list(records), lambda: "%s.%s(%r) (%s) returned in its records" % (cname, meth, name, _call_where(fn)))
                for r in recs:
                    append(encode(r))
                    if cursor:
                        v = r.get(cursor)
                        if v is not None:
                            mx = _cursor_max(mx, v, name, cursor)
                if nxt:
                    if nxt == pagination:
                        raise KitError("%s.%s(%r) returned the same next pagination it was given (%s); it would never finish (%s)" % (cname, meth, name, mask(encode(nxt)), _call_where(fn)))
                    # mid-pagination: the cursor state the pagination started from (the pages
                    # are relative to it), and the max seen so far beside it
                    st = {"pagination": nxt, "cursor_state": cs0}
                    if cursor and mx is not None:
                        st["cursor_seen"] = {cursor: mx}
                    out.state(name, st)
                    pagination = nxt
                else:
                    cs = dict(cs0)
                    if cursor and mx is not None and (initial is None or _cursor_max(initial, mx, name, cursor) is mx):
                        cs[cursor] = mx
                    out.state(name, {"cursor_state": cs})
                    break
        except Exception:
            _incomplete(out, name)
            raise
        out.status(name, "COMPLETE")
        _context[0] = None


class ReaderShape(ClassShape):
    kind = "reader"

    def _batch(self, batch, names):
        cname = self.obj.__name__
        if isinstance(batch, tuple) and len(batch) == 2 and isinstance(batch[0], str):
            sname, recs = batch
            if sname not in names:
                raise KitError("%s.extract() yielded a batch for stream %r; its streams are %s" % (cname, sname, ", ".join(repr(n) for n in names)))
        elif isinstance(batch, (list, dict)) or hasattr(batch, "keys"):
            if len(names) != 1:
                raise KitError("%s has several streams (%s): extract() must yield (stream_name, records)" % (cname, ", ".join(repr(n) for n in names)))
            sname, recs = names[0], batch
        else:
            raise KitError("%s.extract() yielded %s; yield a list of dicts or (stream_name, list)" % (cname, _type_name(batch)))
        if recs is None:
            recs = []
        return sname, recs

    def discover(self, cfg, out):
        from ._schema import infer, SAMPLE

        inst = self.instance(cfg)
        ss = self.streams(cfg)
        names = [s.name for s in ss]
        need = [s.name for s in ss if s.schema is None]
        samples = {n: [] for n in need}
        if need:
            _context[0] = "%s.extract()" % self.obj.__name__
            gen = inst.extract({})
            it = iter(gen)
            while True:
                try:
                    batch = next(it)
                except StopIteration:
                    break
                except KitError:
                    raise
                except Exception as e:
                    if not any(samples.values()):
                        raise
                    out.log("%s.extract() raised while sampling records for the schema (%s); the schema is inferred from the records before" % (self.obj.__name__, describe(e)), "WARN")
                    break
                sname, recs = self._batch(batch, names)
                if sname in samples and len(samples[sname]) < SAMPLE:
                    samples[sname].extend(_as_records(recs, lambda: "%s.extract() yielded" % self.obj.__name__))
                if all(len(v) >= SAMPLE for v in samples.values()):
                    break
            close = getattr(gen, "close", None)
            if close:
                close()
        return [_catalog_entry(s.name, s.schema if s.schema is not None else infer(samples[s.name][:SAMPLE]), s.primary_key, s.cursor, s.write_disposition) for s in ss]

    def read(self, cfg, catalog, states, out):
        inst = self.instance(cfg)
        cname = self.obj.__name__
        ss = self.streams(cfg)
        names = [s.name for s in ss]
        plan = _plan([(s.name, bool(s.cursor)) for s in ss], catalog, out)
        run = [n for n, _ in plan]
        if not run:
            return
        state = {}
        if any(inc for _, inc in plan):
            for n in names:
                if states.get(n):
                    state = dict(states[n])
                    break
        for n in run:
            out.status(n, "STARTED")
        running = set()
        _context[0] = "%s.extract()" % cname
        try:
            gen = inst.extract(state)
            if gen is None:
                raise KitError("%s.extract() returned None; it must yield batches (%s)" % (cname, _call_where(inst.extract)))
            for batch in gen:
                sname, recs = self._batch(batch, names)
                recs = _as_records(recs, lambda: "%s.extract() yielded at %s" % (cname, _yield_where(gen, _call_where(inst.extract))))
                if sname in run:
                    out.begin_records(sname, None if sname in running else (lambda n=sname: out.status_text(n, "RUNNING")))
                    running.add(sname)
                    for r in recs:
                        out.buf.append(encode(r))
                    out.flush_records()
                for n in run:
                    out.state(n, dict(state))
            for n in run:
                out.state(n, dict(state))
        except Exception:
            for n in run:
                _incomplete(out, n)
            raise
        for n in run:
            out.status(n, "COMPLETE")
        _context[0] = None


class WriterShape(ClassShape):
    kind = "writer"
    commands = ("spec", "check", "write")

    def write(self, cfg, catalog, out):
        import json

        inst = self.instance(cfg)
        cname = self.obj.__name__
        op = getattr(inst, "open", None)
        if op is not None and callable(op):
            _context[0] = "%s.open()" % cname
            op(catalog) if _nargs(op) >= 1 else op()
        bs = getattr(inst, "batch_size", 1000)
        bs = bs if isinstance(bs, int) and bs > 0 else 1000
        bufs = {}
        wb = inst.write_batch
        commit = getattr(inst, "commit", None)

        def flush_all():
            for s in list(bufs):
                b = bufs[s]
                if b:
                    bufs[s] = []
                    _context[0] = "%s.write_batch(%r)" % (cname, s)
                    wb(s, b)

        def do_commit():
            flush_all()
            if commit is not None:
                _context[0] = "%s.commit()" % cname
                commit()

        loads = json.loads
        n = 0
        for raw in sys.stdin.buffer:
            n += 1
            if not raw.strip():
                continue
            try:
                m = loads(raw)
            except ValueError:
                raise KitError("stdin line %d is not JSON: %s" % (n, raw[:80].decode("utf-8", "replace")))
            t = m.get("type") if isinstance(m, dict) else None
            if t == "RECORD":
                r = m.get("record") or {}
                s = r.get("stream")
                b = bufs.get(s)
                if b is None:
                    b = bufs[s] = []
                b.append(r.get("data"))
                if len(b) >= bs:
                    bufs[s] = []
                    _context[0] = "%s.write_batch(%r)" % (cname, s)
                    wb(s, b)
            elif t == "STATE":
                do_commit()
                out.line(raw.decode("utf-8", "backslashreplace").rstrip("\r\n"))
        do_commit()
        close = getattr(inst, "close", None)
        if close is not None and callable(close):
            _context[0] = "%s.close()" % cname
            close()
        _context[0] = None


def shape_of(obj):
    k = kit_kind(obj)
    if k in ("source", "resource", "resources"):
        return ResourcesShape(obj)
    if k == "paginated":
        return PaginatedShape(obj)
    if k == "reader":
        return ReaderShape(obj)
    if k == "writer":
        return WriterShape(obj)
    raise KitError("connector_host.main() needs a @source, a @resource (or a list of them), or a paginated source, Reader or Writer class; got %s" % _type_name(obj))


