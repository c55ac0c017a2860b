"""connector_host: write Airbyte-protocol connectors in a few lines (standard library only).

Shapes: @resource/@source (generator functions), a paginated source class (streams/get),
a Reader class (extract), a Writer class (write_batch/commit, a protocol destination).
A connector file ends with `if __name__ == "__main__": connector_host.main(obj)`, or is run
as `python3 -m connector_host file.py:Name COMMAND ...`.
"""

import os as _os

# The host runs `python3 -m connector_host…` with PYTHONSAFEPATH=1 (so that the current directory
# does not shadow the standard library) and marks that it did: the author's own subprocesses get
# the environment without it.
if _os.environ.pop("CONNECTOR_HOST_SAFEPATH", None) is not None:
    _os.environ.pop("PYTHONSAFEPATH", None)

from ._errors import ConfigError, TransientError
from ._api import (
    resource,
    source,
    Stream,
    secret,
    log,
    retry,
    retrying,
    PaginatedSource,
    Reader,
    Writer,
)
from ._cli import main

__version__ = "0.1.0"

def __getattr__(name):
    # `processor` is loaded on first use, so that a source's start (spec) does not pay for it
    if name == "processor":
        try:
            from .processor import processor as fn
        except ImportError as e:  # the processor module is not in this copy of the kit
            why = str(e)

            def fn(*args, **kwargs):
                raise RuntimeError("connector_host.processor is not available in this copy of the kit (%s)" % why)

        globals()["processor"] = fn  # replaces the submodule that the import set as an attribute
        return fn
    raise AttributeError("module 'connector_host' has no attribute %r" % name)


__all__ = [
    "resource",
    "source",
    "Stream",
    "secret",
    "log",
    "retry",
    "retrying",
    "main",
    "ConfigError",
    "TransientError",
    "PaginatedSource",
    "Reader",
    "Writer",
    "processor",
]
