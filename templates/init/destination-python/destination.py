"""__NAME__: a destination written with the connector_host kit (standard library only).

A Writer: the kit reads the records from stdin, hands them to write_batch() in batches, and on
each STATE calls commit(); only after commit() returned is the STATE passed back to the host,
which then saves it. So commit() must make everything written so far durable.

This one writes each stream's records to PATH/<stream>.jsonl: appended, or for a stream
configured with destination_sync_mode overwrite, replacing the file's old content.

Run it (see README.md):
  host run ../my-source/source.py --config ../my-source/config.json \\
    --destination ./destination.py --destination-config config.json --state state.json
"""

import json
import os
import re

import connector_host
from connector_host import ConfigError

SPEC = {
    "documentationUrl": "https://example.invalid/__NAME__",
    "supported_destination_sync_modes": ["append", "overwrite"],
    "connectionSpecification": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "__NAME__",
        "type": "object",
        "required": ["path"],
        "properties": {
            "path": {
                "type": "string",
                "title": "Output folder",
                "description": "Each stream's records are appended to PATH/<stream>.jsonl.",
            },
            "api_key": {
                "type": "string",
                "title": "API key",
                "description": "What a real destination would send with each request (unused here); masked in logs.",
                "airbyte_secret": True,
            },
        },
    },
}


def file_name(stream):
    """A stream's file: a name like "../x" or "a/b" must not write outside the folder."""
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(stream)).lstrip(".")
    return (safe or "_") + ".jsonl"


class __WRITER_CLASS__(connector_host.Writer):
    spec = SPEC

    def __init__(self, config):
        self.path = config.get("path")
        if not self.path:
            raise ConfigError("path is empty: name the output folder in the config")
        self.pending = {}  # stream -> lines not yet committed
        self.to_replace = set()  # overwrite streams whose old file is not truncated yet

    def open(self, catalog):
        # the configured catalog, before the first record
        for configured in catalog.get("streams", []):
            if configured.get("destination_sync_mode") == "overwrite":
                self.to_replace.add(configured["stream"]["name"])

    def check_connection(self, config):
        # the nearest folder that exists must be writable: check creates nothing
        folder = os.path.abspath(config["path"])
        while not os.path.exists(folder):
            folder = os.path.dirname(folder)
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            return False, "cannot write under %s" % folder
        return True

    def write_batch(self, stream, records):
        lines = self.pending.setdefault(stream, [])
        for record in records:
            lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")

    def commit(self):
        os.makedirs(self.path, exist_ok=True)
        for stream, lines in self.pending.items():
            if lines:
                mode = "w" if stream in self.to_replace else "a"
                self.to_replace.discard(stream)
                self.write_file(stream, "".join(lines), mode)
        self.pending = {}

    def close(self):
        # an overwrite stream that sent no records at all: its old records go too
        for stream in self.to_replace:
            if os.path.exists(os.path.join(self.path, file_name(stream))):
                self.write_file(stream, "", "w")

    def write_file(self, stream, text, mode):
        with open(os.path.join(self.path, file_name(stream)), mode, encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())


if __name__ == "__main__":
    connector_host.main(__WRITER_CLASS__)
