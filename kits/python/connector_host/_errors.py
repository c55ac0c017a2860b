"""Errors of the kit, where author code failed, and masking of secret values."""

import os
import sys

__all__ = ["ConfigError", "TransientError", "KitError", "where", "author_frame", "mask", "add_secrets"]


class ConfigError(Exception):
    """The configuration is wrong (a config_error TRACE, or a FAILED check)."""


class TransientError(Exception):
    """A failure worth retrying (see connector_host.retry)."""


class KitError(Exception):
    """A mistake in how author code uses the kit; the message already says where."""

    def __init__(self, message, failure_type="system_error"):
        Exception.__init__(self, message)
        self.failure_type = failure_type


_KIT_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_STDLIB = os.path.dirname(os.__file__) + os.sep


def _show(path):
    try:
        rel = os.path.relpath(path)
        return path if rel.startswith("..") else rel
    except ValueError:
        return path


def where(filename, line, func=None):
    s = "%s:%s" % (_show(filename), line)
    return s + (" in %s" % func if func else "")


def author_frame(tb):
    """(file, line, function) of the deepest frame of the traceback in author code: not in the
    kit and not in the standard library (else the deepest frame outside the kit)."""
    best = outside = last = None
    while tb is not None:
        code = tb.tb_frame.f_code
        fn = code.co_filename
        here = (fn, tb.tb_lineno, code.co_name)
        last = here
        if not fn.startswith(_KIT_DIR):
            outside = here
            if not fn.startswith(_STDLIB) and not fn.startswith("<frozen"):
                best = here
        tb = tb.tb_next
    return best or outside


context = [None]  # what author code was running when an error happened ("resource 'users'")

_SECRETS = []
MASK = "**********"


def add_secrets(values):
    for v in values:
        if isinstance(v, bool) or v is None:
            continue
        s = str(v)
        if s and s not in _SECRETS:
            _SECRETS.append(s)
    _SECRETS.sort(key=len, reverse=True)


def mask(text):
    if not _SECRETS or not isinstance(text, str):
        return text
    for s in _SECRETS:
        if s in text:
            text = text.replace(s, MASK)
    return text


def describe(exc):
    """`Type: message (at file:line in func)` for an exception raised by author code."""
    if isinstance(exc, KitError):
        return str(exc)
    name = type(exc).__name__
    msg = str(exc)
    text = "%s: %s" % (name, msg) if msg else name
    if isinstance(exc, ValueError) and "not JSON compliant" in msg:
        # json's encoder met a float NaN or Infinity in a record or a state
        return "a record or state holds a float NaN or Infinity, which JSON cannot hold; write None or a string instead"
    if isinstance(exc, SyntaxError) and exc.filename:
        return "%s: %s (at %s)" % (name, exc.msg, where(exc.filename, exc.lineno))
    f = author_frame(exc.__traceback__)
    if f is None:
        # raised by the kit itself (a config check): the message says it all
        return msg if isinstance(exc, ConfigError) and msg else text
    return text + " (at %s)" % where(*f)


def print_traceback(exc):
    """The traceback on stderr as one block (the kit's own frames left out, secrets masked)."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(_KIT_DIR) and not f.filename.startswith("<frozen")]
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + "".join(traceback.format_exception_only(type(exc), exc))
    try:
        sys.stderr.write(mask(text))
        sys.stderr.flush()
    except Exception:
        pass
