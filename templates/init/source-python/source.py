"""__NAME__: a source written with the connector_host kit (standard library only).

One stream, `items`, read incrementally on its `updated_at` cursor: the kit keeps the largest
`updated_at` it has seen in the stream's state, so the next run starts after it.

Run it (see README.md):  host read ./source.py --config config.json --out ./output
It is also a plain Airbyte-protocol connector:  python3 source.py spec
(with the kit on PYTHONPATH: PYTHONPATH="$(host kit path)" python3 source.py spec).
"""

from datetime import datetime, timedelta, timezone

import connector_host
from connector_host import ConfigError, resource, source

SPEC = {
    "documentationUrl": "https://example.invalid/__NAME__",
    "connectionSpecification": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "__NAME__",
        "type": "object",
        "required": ["api_key"],
        "properties": {
            "api_key": {
                "type": "string",
                "title": "API key",
                "description": "Sent to the API with every request; masked in logs and test reports.",
                "airbyte_secret": True,
            },
            "count": {
                "type": "integer",
                "title": "Items available",
                "description": "How many example items the (pretend) API has.",
                "default": 5,
                "minimum": 0,
            },
        },
    },
}

ITEM_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}

START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def fetch_items(api_key, count):
    """Stands in for an API call: replace it with your own (urllib.request, an SDK, a database)."""
    for i in range(1, count + 1):
        at = START + timedelta(hours=i)
        yield {"id": i, "name": "item %d" % i, "updated_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")}


@resource(primary_key="id", cursor="updated_at", schema=ITEM_SCHEMA)
def items(config, state):
    # `state` is this stream's own dict from the last run ({} on the first): the kit keeps
    # state["updated_at"] = the largest updated_at yielded, and saves it after every batch.
    since = state.get("updated_at")
    for item in fetch_items(config["api_key"], config.get("count", 5)):
        if since is None or item["updated_at"] > since:
            yield item


@source(spec=SPEC)
def __SOURCE_FN__(config):
    if not config.get("api_key"):
        raise ConfigError("api_key is empty: set it in the config")
    return [items]


if __name__ == "__main__":
    connector_host.main(__SOURCE_FN__)
