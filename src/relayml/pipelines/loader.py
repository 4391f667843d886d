"""Finding pipeline code by reference: "package.module:name" or "path/to/file.py:name".

Steps are shipped to worker processes by reference, never pickled: a worker imports the same
module (by name, or by file path under the same derived module name) and looks the step up.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from relayml.errors import InvalidInput, UserCodeError

FILE_MODULE_PREFIX = "_relay_file_"


def split_ref(ref: str) -> tuple[str, str]:
    target, sep, attr = ref.rpartition(":")
    if not sep or not target or not attr or not attr.replace(".", "_").isidentifier():
        raise InvalidInput(
            f"invalid pipeline reference {ref!r}; write 'package.module:name' or "
            "'path/to/file.py:name'"
        )
    return target, attr


def is_file_target(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def file_module_name(path: Path) -> str:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    stem = "".join(c if c.isalnum() else "_" for c in path.stem)
    return f"{FILE_MODULE_PREFIX}{stem}_{digest}"


def import_file(path: str | os.PathLike[str]) -> ModuleType:
    """Import a .py file under a stable name derived from its absolute path (so a worker that
    imports the same file gets the same module name); its folder goes on sys.path."""
    file = Path(path).expanduser().resolve()
    if not file.is_file():
        raise InvalidInput(f"no pipeline file {str(path)!r}; give the path of a .py file")
    name = file_module_name(file)
    if name in sys.modules:
        return sys.modules[name]
    folder = str(file.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise InvalidInput(f"cannot import {str(file)!r} as Python code")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise _import_failed(str(file), exc) from None
    return module


def import_target(target: str) -> ModuleType:
    if is_file_target(target):
        return import_file(target)
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name):
            raise InvalidInput(
                f"no module {target!r} (from {os.getcwd()}); run from the folder that contains "
                "it, or give the file path: relay pipelines run path/to/file.py:name"
            ) from None
        raise _import_failed(target, exc) from None
    except Exception as exc:
        raise _import_failed(target, exc) from None


def _import_failed(where: str, exc: BaseException) -> UserCodeError:
    import traceback

    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return UserCodeError(f"importing {where} raised {type(exc).__name__}: {exc}", user_traceback=tb)


def load(ref: str) -> Any:
    """The object a reference names (a Pipeline, usually)."""
    target, attr = split_ref(ref)
    obj: Any = import_target(target)
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise InvalidInput(f"{target} has no attribute {attr!r} (from {ref!r})") from None
    return obj


def ref_of(fn: Any) -> str:
    """The reference a worker uses to import `fn`'s module and find it again."""
    module = sys.modules.get(fn.__module__)
    qualname = fn.__qualname__
    if "<locals>" in qualname:
        raise InvalidInput(
            f"{qualname} is defined inside a function; define pipelines and steps at the top "
            "level of a module so worker processes can import them"
        )
    file = getattr(module, "__file__", None)
    if fn.__module__ == "__main__" or fn.__module__.startswith(FILE_MODULE_PREFIX):
        if not file:
            raise InvalidInput(
                f"{qualname} is defined in an interactive session; put it in a .py file and "
                "run it as relay.pipelines.run('path/to/file.py:name')"
            )
        return f"{Path(file).resolve()}:{qualname}"
    return f"{fn.__module__}:{qualname}"
