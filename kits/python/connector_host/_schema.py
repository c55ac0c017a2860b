"""Schema inference from sample records (discover without a declared schema)."""

SAMPLE = 100


def _jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "object"
    if isinstance(v, (list, tuple, set, frozenset)):
        return "array"
    if type(v).__name__ == "Decimal":
        return "number"
    return "string"


def _format(v):
    # the JSON Schema format of a value the kit writes as a string (datetime -> ISO 8601)
    import datetime

    if isinstance(v, datetime.datetime):
        return "date-time"
    if isinstance(v, datetime.date):
        return "date"
    if isinstance(v, datetime.time):
        return "time"
    return None


class _Node:
    __slots__ = ("types", "props", "items", "formats")

    def __init__(self):
        self.types = []
        self.props = None
        self.items = None
        self.formats = set()

    def add(self, v):
        t = _jtype(v)
        if t not in self.types:
            self.types.append(t)
        if t == "string":
            self.formats.add(_format(v))
        if t == "object":
            if self.props is None:
                self.props = {}
            for k, x in v.items():
                n = self.props.get(k)
                if n is None:
                    n = self.props[k] = _Node()
                n.add(x)
        elif t == "array":
            if self.items is None:
                self.items = _Node()
            for x in v:
                self.items.add(x)

    def schema(self):
        ts = list(self.types)
        if "integer" in ts and "number" in ts:
            ts.remove("integer")
        out = {}
        if len(ts) == 1:
            out["type"] = ts[0]
        elif ts:
            out["type"] = ts
        if "string" in ts and len(self.formats) == 1 and None not in self.formats:
            out["format"] = next(iter(self.formats))
        if self.props is not None:
            out["properties"] = {k: n.schema() for k, n in self.props.items()}
        if self.items is not None and self.items.types:
            out["items"] = self.items.schema()
        return out


def infer(records):
    root = _Node()
    n = 0
    for r in records:
        root.add(r)
        n += 1
    s = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": root.schema().get("properties", {}) if n else {}}
    s["description"] = "inferred by connector_host from the first %d records" % n
    s["x-connector-host-inferred"] = True
    return s
