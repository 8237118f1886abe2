"""A registry of named extensions that find themselves: the one mechanism behind prunesim's
extension points (model families, methods, hardware kinds, commands, benches).

A :class:`Registry` belongs to a package. Each module of that package that provides an entry
registers it at import (``REGISTRY.register(name, entry)``); the registry imports every module
of its package the first time it is asked for an entry (:func:`pkgutil.iter_modules`, in
alphabetical order), so that adding an entry is adding one module: no list to edit. Entries are
listed in ascending ``order(entry)``, then by name (by name alone without ``order``): what help
texts, listings and error messages show does not depend on which module happened to be imported
first.

This module imports only the standard library.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one kind by name, filled by the modules of ``package`` (a dotted name).

    ``what`` names an entry in messages (``"method"``: ``unknown method 'x' (choose from
    ...)``); ``order`` gives an entry's sort key for listings (ties and no ``order``: by name).
    Discovery imports each module of the package once; a module that fails to import raises
    (a broken extension is an error, not a silently missing entry).
    """

    def __init__(self, package: str, what: str, order: Callable[[T], float] | None = None) -> None:
        self.package = package
        self.what = what
        self._order = order
        self._entries: dict[str, T] = {}
        self._discovered = False
        self._discovering = False

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; ValueError if the name is taken. Returns ``entry``."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.what} name must be a non-empty text, not {name!r}")
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests that register a temporary entry)."""
        self._entries.pop(name, None)

    def discover(self) -> None:
        """Import every module of the package once (each registers its entries)."""
        if self._discovered or self._discovering:
            return
        self._discovering = True
        try:
            package = importlib.import_module(self.package)
            for info in pkgutil.iter_modules(package.__path__, self.package + "."):
                importlib.import_module(info.name)
            self._discovered = True
        finally:
            self._discovering = False

    def _sorted(self) -> list[tuple[str, T]]:
        self.discover()
        order = self._order
        if order is None:
            return sorted(self._entries.items())
        return sorted(self._entries.items(), key=lambda item: (order(item[1]), item[0]))

    def names(self) -> list[str]:
        """Every name, in listing order."""
        return [name for name, _ in self._sorted()]

    def items(self) -> list[tuple[str, T]]:
        """Every ``(name, entry)``, in listing order."""
        return self._sorted()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._entries

    def __getitem__(self, name: str) -> T:
        self.discover()
        return self._entries[name]

    def __len__(self) -> int:
        self.discover()
        return len(self._entries)

    def get(self, name: str) -> T:
        """The entry called ``name``; ValueError ``unknown <what> 'x' (choose from a, b)``."""
        self.discover()
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            choices = ", ".join(self.names())
            raise ValueError(f"unknown {self.what} {name!r} (choose from {choices})") from None
