"""connector_host: write Airbyte-protocol connectors in a few lines (standard library only).

Shapes: @resource/@source (generator functions), a paginated source class (streams/get),
a Reader class (extract), a Writer class (write_batch/commit, a protocol destination).
A connector file ends with `if __name__ == "__main__": connector_host.main(obj)`, or is run
as `python3 -m connector_host file.py:Name COMMAND ...`.
"""

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

try:
    from .processor import processor
except ImportError as _e:  # the processor module is not there (yet)
    _why = str(_e)

    def processor(*args, **kwargs):
        raise RuntimeError("connector_host.processor is not available in this copy of the kit (%s)" % _why)


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
