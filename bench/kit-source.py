"""The Python kit's resource shape, for the kit benchmark (bench/kit-bench.mjs).

    python3 bench/kit-source.py read --config C --catalog K     (C: {"records": N})
    python3 -m connector_host bench/kit-source.py:bench_source spec

Two streams with the same small records: `items` (append, no cursor: the record path alone) and
`items_cursor` (incremental on `id`: the kit also tracks the cursor and writes STATE per batch).
bench/kit-hand.py writes the same RECORD lines by hand.
"""

import connector_host
from connector_host import resource, source

SPEC = {"type": "object", "properties": {"records": {"type": "integer", "minimum": 0}}, "required": ["records"]}


@resource(primary_key="id")
def items(config, state):
    for i in range(config["records"]):
        yield {"id": i, "name": "user", "score": i % 100, "active": True}


@resource(primary_key="id", cursor="id")
def items_cursor(config, state):
    for i in range(state.get("id", -1) + 1, config["records"]):
        yield {"id": i, "name": "user", "score": i % 100, "active": True}


@source(spec=SPEC)
def bench_source(config):
    return [items, items_cursor]


if __name__ == "__main__":
    connector_host.main(bench_source)
