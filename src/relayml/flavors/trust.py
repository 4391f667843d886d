"""Which types a skops file may name, decided by Relay, never by the file.

skops trusts a default set of its own (builtins, NumPy dtypes, scikit-learn's estimators).
``skops.io.get_untrusted_types`` lists every other type a file names, reading only its schema;
Relay then allows, by its rule, the classes of scikit-learn, NumPy and SciPy, plus exactly the
names a caller (or its configuration) lists in ``trusted_types``. Anything else refuses the
whole file before a single object is constructed.
"""

from __future__ import annotations

from collections.abc import Iterable

from relayml.errors import InvalidInput, Unprocessable

TRUSTED_PACKAGES = frozenset({"sklearn", "numpy", "scipy"})
"""Packages whose classes Relay allows in a skops file (functions must be listed by name)."""

# Parts of a module path that are never trusted, even inside a trusted package: test helpers,
# build tools, foreign-function interfaces and vendored third-party code.
_DENIED_PARTS = frozenset(
    {"testing", "_testing", "tests", "conftest", "distutils", "f2py", "ctypeslib", "externals"}
)
# Sparse containers are classes with lower-case names.
_SPARSE = frozenset(
    f"{fmt}_{kind}"
    for fmt in ("csr", "csc", "coo", "bsr", "dia", "lil", "dok")
    for kind in (
        "matrix",
        "array",
    )
)


def check_trusted_types(names: Iterable[str]) -> frozenset[str]:
    """A caller's extension list, checked: each entry a dotted ``module.Name``."""
    if isinstance(names, str):
        raise InvalidInput(f"trusted_types must be a list of type names, not the string {names!r}")
    out = set()
    for name in names:
        parts = name.split(".") if isinstance(name, str) else []
        if len(parts) < 2 or not all(p.isidentifier() for p in parts):
            raise InvalidInput(
                f"trusted type {name!r} is not a dotted name like 'mypackage.module.MyClass'"
            )
        out.add(name)
    return frozenset(out)


def allowed_by_rule(name: str) -> bool:
    """True for a class of scikit-learn, NumPy or SciPy, by Relay's rule on the name alone."""
    parts = name.split(".")
    if len(parts) < 2 or not all(p.isidentifier() for p in parts):
        return False
    if parts[0] not in TRUSTED_PACKAGES or _DENIED_PARTS.intersection(parts[:-1]):
        return False
    last = parts[-1]
    is_class = last[0].isupper()  # classes are CapWords; functions and modules are not
    return is_class or (parts[:2] == ["scipy", "sparse"] and last in _SPARSE)


def refused_types(data: bytes, trusted_types: frozenset[str]) -> tuple[list[str], list[str]]:
    """The types a skops file names beyond skops' defaults: (allowed, refused)."""
    import skops.io

    try:
        named = skops.io.get_untrusted_types(data=data)
    except Exception as exc:
        raise Unprocessable(f"the file is not a readable skops file: {exc}") from exc
    allowed = [n for n in named if n in trusted_types or allowed_by_rule(n)]
    refused = sorted(set(named) - set(allowed))
    return allowed, refused


def refusal(refused: list[str], when: str) -> Unprocessable:
    return Unprocessable(
        f"the scikit-learn model {when} names types Relay does not trust: {', '.join(refused)}. "
        "Nothing was constructed. If you trust them, list them by name in trusted_types "
        "(Relay allows the classes of scikit-learn, NumPy and SciPy without it)",
        types=refused,
    )
