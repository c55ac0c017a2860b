"""Protocol output: messages built as text and written in batches (one write per ~64 KiB of
records, per STATE and per other message)."""

import json
import os
import sys
import time

from ._errors import mask, KitError

BATCH_BYTES = 65536


# A Decimal is written as the number it is, digit for digit: the encoder writes it as a string
# between two markers (a NUL and a per-process token, so no record's own text can look like one),
# and the batch text gets the number's digits in place of that string before it is written.
_TOKEN = "ch" + os.urandom(6).hex()
_MARK = "\\u0000" + _TOKEN + ":"  # how the encoder writes "\x00<token>:" inside a string
_MARKED = None


def _unmark(text):
    global _MARKED
    if _MARKED is None:
        import re

        _MARKED = re.compile('"' + re.escape(_MARK) + r'(-?[0-9][0-9.]*(?:[eE][+-]?[0-9]+)?)' + re.escape("\\u0000") + '"')
    return _MARKED.sub(lambda m: m.group(1), text)


def _unwritable(message):
    e = KitError(message)
    e.encode_problem = True  # report() names what ran (the resource) before it
    return e


def _default(v):
    # values json cannot write by itself: the usual ones written as JSON, others a clear error
    import datetime
    import decimal

    if isinstance(v, (datetime.datetime, datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        if not v.is_finite():
            raise _unwritable("a record holds Decimal(%r), which JSON cannot hold; write None or a string instead" % str(v))
        t = str(v)
        if t[:1] == ".":
            t = "0" + t
        elif t[:2] == "-.":
            t = "-0" + t[1:]
        return "\x00" + _TOKEN + ":" + t + "\x00"
    if isinstance(v, (set, frozenset, tuple)):
        return list(v)
    if isinstance(v, (bytes, bytearray)):
        import base64

        return base64.b64encode(bytes(v)).decode("ascii")
    if hasattr(v, "hex") and type(v).__name__ == "UUID":
        return str(v)
    try:
        import dataclasses

        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return dataclasses.asdict(v)
    except Exception:
        pass
    raise _unwritable("a record holds a value of type %s, which cannot be written as JSON; convert it (str(), int(), float(), a dict) before yielding it" % type(v).__name__)


_ENC = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default)
encode = _ENC.encode


def now_ms():
    return int(time.time() * 1000)


class Out:
    """The connector's stdout. Records of the current stream are collected in `buf` (their
    `data` JSON only) and written with one envelope prefix and one emitted_at per batch."""

    def __init__(self, stream=None):
        self.raw = stream if stream is not None else sys.stdout.buffer
        self.buf = []
        self.prefix = None
        self.on_first = None  # called before the first batch of a stream (STREAM_STATUS RUNNING)

    def begin_records(self, stream_name, on_first=None):
        self.flush_records()
        self.prefix = '{"type":"RECORD","record":{"stream":%s,"data":' % encode(stream_name)
        self.on_first = on_first

    def _records_text(self):
        buf = self.buf
        if not buf:
            return ""
        sfx = ',"emitted_at":%d}}\n' % now_ms()
        text = self.prefix + (sfx + self.prefix).join(buf) + sfx
        buf.clear()
        if self.on_first is not None:
            f, self.on_first = self.on_first, None
            text = f() + text
        return text

    def flush_records(self):
        if self.buf:
            self._write(self._records_text())

    def _write(self, text):
        if _MARK in text:
            text = _unmark(text)
        self.raw.write(text.encode("utf-8", "backslashreplace"))
        self.raw.flush()

    def message(self, obj):
        """Any other message: after the records collected so far, in one write with them."""
        self._write(self._records_text() + encode(obj) + "\n")

    def line(self, text):
        self._write(self._records_text() + text + "\n")

    # message builders
    def log(self, message, level="INFO"):
        self.message({"type": "LOG", "log": {"level": level, "message": mask(message)}})

    def state(self, name, stream_state):
        self.message({"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": stream_state}}})

    def status_text(self, name, status):
        return encode({"type": "TRACE", "trace": {"type": "STREAM_STATUS", "emitted_at": now_ms(), "stream_status": {"stream_descriptor": {"name": name}, "status": status}}}) + "\n"

    def status(self, name, status):
        self._write(self._records_text() + self.status_text(name, status))

    def estimate(self, name, rows):
        self.message({"type": "TRACE", "trace": {"type": "ESTIMATE", "emitted_at": now_ms(), "estimate": {"name": name, "type": "STREAM", "row_estimate": rows}}})

    def error(self, message, failure_type="system_error", internal=None):
        err = {"message": mask(message), "failure_type": failure_type}
        if internal:
            err["internal_message"] = mask(internal)
        self.message({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": now_ms(), "error": err}})


_current = None


def current():
    """The Out of the running command (a fresh one writing to stdout outside a command)."""
    global _current
    if _current is None:
        _current = Out()
    return _current


def set_current(out):
    global _current
    _current = out
