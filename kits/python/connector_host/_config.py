"""Specs (JSON Schema, full SPEC or dataclass), config loading and secret values."""

import json

from ._errors import ConfigError, KitError, add_secrets

EMPTY_SCHEMA = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": {}, "additionalProperties": True}


def is_dataclass_type(x):
    return isinstance(x, type) and hasattr(x, "__dataclass_fields__")


_TYPES = {"int": "integer", "float": "number", "str": "string", "bool": "boolean", "dict": "object", "list": "array", "tuple": "array", "Dict": "object", "List": "array", "Tuple": "array", "Sequence": "array", "Mapping": "object"}


def _type_of(ann):
    """JSON Schema type of an annotation (a type or a string), and whether None is allowed."""
    if ann is None:
        return None, True
    if isinstance(ann, type):
        if ann is bool:
            return "boolean", False
        for t, j in ((int, "integer"), (float, "number"), (str, "string"), (dict, "object"), (list, "array"), (tuple, "array")):
            if issubclass(ann, t):
                return j, False
        return None, False
    s = ann if isinstance(ann, str) else repr(ann)
    s = s.replace("typing.", "").strip()
    nullable = False
    if s.startswith("Optional[") and s.endswith("]"):
        s, nullable = s[9:-1], True
    parts = [p.strip() for p in s.split("|")]
    if len(parts) > 1:
        if "None" in parts:
            nullable = True
        parts = [p for p in parts if p != "None"]
        s = parts[0] if len(parts) == 1 else ""
    base = s.split("[", 1)[0]
    return _TYPES.get(base), nullable


def dataclass_schema(cls):
    import dataclasses

    props = {}
    required = []
    for f in dataclasses.fields(cls):
        p = {}
        t, nullable = _type_of(f.type)
        if t:
            p["type"] = [t, "null"] if nullable else t
        md = f.metadata or {}
        for k in ("title", "description", "examples", "enum", "minimum", "maximum", "pattern", "format", "order"):
            if k in md:
                p[k] = md[k]
        secret = bool(md.get("secret") or md.get("airbyte_secret"))
        if secret:
            p["airbyte_secret"] = True
        has_default = f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
        if f.default is not dataclasses.MISSING and not secret:
            try:
                json.dumps(f.default)
                p["default"] = f.default
            except (TypeError, ValueError):
                pass
        if not has_default:
            required.append(f.name)
        props[f.name] = p
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "title": cls.__name__, "type": "object", "properties": props}
    if required:
        schema["required"] = required
    doc = cls.__doc__
    if doc and not doc.startswith(cls.__name__ + "("):
        schema["description"] = " ".join(doc.split())
    return schema


def full_spec(spec):
    """The SPEC's `spec` object for a spec given as None, a JSON Schema, a full spec or a dataclass."""
    if spec is None:
        return {"connectionSpecification": dict(EMPTY_SCHEMA)}
    if is_dataclass_type(spec):
        return {"connectionSpecification": dataclass_schema(spec)}
    if isinstance(spec, dict):
        if "connectionSpecification" in spec:
            return spec
        return {"connectionSpecification": spec}
    raise KitError("spec must be a JSON Schema dict, a SPEC dict with connectionSpecification, or a dataclass; got a %s" % type(spec).__name__)


def read_json_file(path, what):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConfigError("cannot read the %s file %s: %s" % (what, path, e.strerror or e))
    try:
        return json.loads(data)
    except ValueError as e:
        raise ConfigError("the %s file %s is not valid JSON: %s" % (what, path, e))


def _collect(schema, value, out):
    if not isinstance(schema, dict):
        return
    if schema.get("airbyte_secret") is True and value is not None and not isinstance(value, (dict, list)):
        out.append(value)
    for k in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(k) or []:
            _collect(sub, value, out)
    if isinstance(value, dict):
        props = schema.get("properties")
        if isinstance(props, dict):
            for name, sub in props.items():
                if name in value:
                    _collect(sub, value[name], out)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for v in value:
            _collect(schema["items"], v, out)


def register_secrets(spec_obj, config):
    """Remember the config's secret values, so the kit's own messages never show them."""
    out = []
    _collect(spec_obj.get("connectionSpecification"), config, out)
    add_secrets(out)


def make_config(spec, config):
    """What author code gets: the config dict, or an instance of the spec's dataclass."""
    if not isinstance(config, dict):
        raise ConfigError("the config must be a JSON object, not %s" % type(config).__name__)
    if is_dataclass_type(spec):
        import dataclasses

        kwargs = {}
        missing = []
        for f in dataclasses.fields(spec):
            if not f.init:
                continue
            if f.name in config:
                v = config[f.name]
                t, nullable = _type_of(f.type)
                if not _fits(t, nullable, v):
                    raise ConfigError("config field %r must be %s, not %s" % (f.name, _a(t), _json_type(v)))
                kwargs[f.name] = v
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                missing.append(f.name)
        if missing:
            raise ConfigError("the config is missing the required field%s %s" % ("s" if len(missing) > 1 else "", ", ".join(repr(m) for m in missing)))
        return spec(**kwargs)
    schema = full_spec(spec).get("connectionSpecification") or {}
    props = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(props, dict):
        defaults = {k: p["default"] for k, p in props.items() if isinstance(p, dict) and "default" in p and k not in config}
        if defaults:
            config = dict(config)
            config.update(defaults)
    req = schema.get("required") if isinstance(schema, dict) else None
    if isinstance(req, list):
        missing = [r for r in req if r not in config]
        if missing:
            raise ConfigError("the config is missing the required field%s %s" % ("s" if len(missing) > 1 else "", ", ".join(repr(m) for m in missing)))
    props = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(props, dict):
        for name, p in props.items():
            if name in config and isinstance(p, dict) and isinstance(p.get("type"), str):
                if not _fits(p["type"], False, config[name]) and config[name] is not None:
                    raise ConfigError("config field %r must be %s, not %s" % (name, _a(p["type"]), _json_type(config[name])))
    return config


def _json_type(v):
    """The JSON type of a config value, with its article, for messages ("an integer")."""
    from ._schema import _jtype

    t = _jtype(v)
    return t if t == "null" else ("an " if t[0] in "aeiou" else "a ") + t


def _a(t):
    return {"integer": "an integer", "array": "an array", "object": "an object"}.get(t, "a %s" % t)


def _fits(t, nullable, v):
    if t is None:
        return True
    if v is None:
        return nullable
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "object":
        return isinstance(v, dict)
    if t == "array":
        return isinstance(v, list)
    return True
