"""Load `PATH[:NAME]`: a .py file or a package folder, and the kit object named NAME in it."""

import os
import sys

from ._errors import KitError
from ._api import kit_kind, ResourceDef


class LoadError(KitError):
    def __init__(self, message):
        KitError.__init__(self, message, "config_error")


_KINDS = {"source": "@source", "resource": "@resource", "resources": "list of resources", "paginated": "paginated source class", "reader": "Reader class", "writer": "Writer class"}


def split_target(target):
    if os.path.exists(target):
        return target, None
    if ":" in target:
        path, name = target.rsplit(":", 1)
        if name and all(p.isidentifier() for p in name.split(".")):
            return path, name
    return target, None


def _own(obj, modname):
    return getattr(obj, "__module__", None) == modname


def kit_objects(mod):
    """[(name, obj, kind)] of the kit objects a module defines (imported ones if it defines none)."""
    own, other = [], []
    for k, v in list(vars(mod).items()):
        if k.startswith("__"):
            continue
        kind = kit_kind(v)
        if kind is None:
            continue
        (own if (_own(v, mod.__name__) or kind == "resources") else other).append((k, v, kind))
    return own or other


def pick_only(objs, what):
    main = [o for o in objs if o[2] not in ("resource", "resources")]
    if len(main) == 1:
        return main[0][1]
    if not main:
        res = [o[1] for o in objs if o[2] == "resource"]
        lists = [o for o in objs if o[2] == "resources"]
        if len(lists) == 1 and not res:
            return lists[0][1]
        if res:
            return res if len(res) > 1 else res[0]
        if not lists:
            raise LoadError("%s has no kit object (a @source, a @resource, or a paginated source, Reader or Writer class); name one as %s:NAME" % (what, what))
        main = lists
    raise LoadError("%s has several kit objects: %s; name one as %s:NAME" % (what, listing(main), what))


def listing(objs):
    return ", ".join("%s (%s)" % (n, _KINDS.get(k, k)) for n, _, k in objs)


def _get(obj, name):
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _has(obj, name):
    try:
        _get(obj, name)
        return True
    except AttributeError:
        return False


def _missing(what, name, objs, mod_names):
    if objs:
        has = "its kit objects: %s" % listing(objs)
    else:
        public = [n for n in mod_names if not n.startswith("_")]
        has = "it has no kit objects%s" % ("; its names: %s" % ", ".join(public[:30]) if public else "")
    return LoadError("%s has no %r; %s" % (what, name, has))


def load_file(path):
    import importlib.machinery
    import importlib.util

    d = os.path.dirname(path)
    if d not in sys.path:
        sys.path.insert(0, d)
    stem = os.path.splitext(os.path.basename(path))[0]
    modname = stem if stem.isidentifier() and stem not in sys.modules else "_connector_host_target"
    loader = importlib.machinery.SourceFileLoader(modname, path)
    spec = importlib.util.spec_from_loader(modname, loader, origin=path)
    mod = importlib.util.module_from_spec(spec)
    mod.__file__ = path
    sys.modules[modname] = mod
    loader.exec_module(mod)
    return mod


def load_package(path, name):
    import importlib
    import pkgutil

    parent, pkg_name = os.path.split(path.rstrip(os.sep))
    what = path
    if not pkg_name.isidentifier():
        raise LoadError("the folder %s is not a Python package name (it must be an identifier)" % path)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    pkg = importlib.import_module(pkg_name)
    if name and _has(pkg, name):
        return _get(pkg, name)
    mods = [pkg]
    errors = []
    for mi in pkgutil.iter_modules(getattr(pkg, "__path__", [path])):
        full = "%s.%s" % (pkg_name, mi.name)
        try:
            mods.append(importlib.import_module(full))
        except Exception as e:
            errors.append((full, e))
    objs = []
    for m in mods:
        objs.extend((("%s.%s" % (m.__name__[len(pkg_name) + 1:], n)) if m is not pkg else n, o, k) for n, o, k in kit_objects(m))
    if name:
        hits = [m for m in mods if m is not pkg and _has(m, name)]
        if len(hits) == 1:
            return _get(hits[0], name)
        if len(hits) > 1:
            raise LoadError("%r is defined in both %s and %s in %s; name the module: %s:%s" % (name, _mfile(hits[0]), _mfile(hits[1]), path, _mfile(hits[0]), name))
        if errors:
            full, e = errors[0]
            raise KitError("%s has no %r, and the module %s failed to import: %s: %s" % (what, name, full, type(e).__name__, e))
        raise _missing(what, name, objs, [])
    return pick_only(objs, what)


def _mfile(m):
    return getattr(m, "__file__", None) or m.__name__


def load(target):
    path, name = split_target(target)
    ap = os.path.abspath(path)
    if not os.path.exists(ap):
        raise LoadError("no such file or folder: %s" % path)
    if os.path.isdir(ap):
        return load_package(ap, name)
    mod = load_file(ap)
    what = path
    if name:
        if not _has(mod, name):
            raise _missing(what, name, kit_objects(mod), list(vars(mod)))
        obj = _get(mod, name)
        if kit_kind(obj) is None and not callable(obj):
            raise LoadError("%s:%s is %s, not a kit object (a @source, @resource, or a paginated source, Reader or Writer class)" % (what, name, type(obj).__name__))
        if kit_kind(obj) is None and callable(obj) and getattr(obj, "__code__", None) is not None:
            obj = ResourceDef(obj)  # a plain generator function: one resource
        return obj
    return pick_only(kit_objects(mod), what)
