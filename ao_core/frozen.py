"""Frozen records: a frozen dataclass's behaviour without its cost at start-up.

``@dataclass`` writes each class's methods as source text and compiles it when the class
is made, which cost about half a millisecond per class on every command's start. A
:class:`Record` names its fields in ``__slots__`` and gets the same equality, hash,
``repr`` and refusal to change (:class:`dataclasses.FrozenInstanceError`) from here.
:class:`ao_core.Session`, which plugins may use as the dataclass it is documented to be,
stays one.
"""

from __future__ import annotations

from typing import Any


class Record:
    """A record whose fields are its ``__slots__``; compared, hashed and shown by them.

    ``_compared`` names the fields that equality, the hash and ``repr`` use, when not all
    of them (a field that must not be shown, a cache). Set the fields in ``__init__``
    with :meth:`_init`; afterwards the record cannot be changed.
    """

    __slots__ = ()
    _compared: tuple[str, ...] | None = None

    def _init(self, **fields: Any) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def _fields(self) -> tuple[str, ...]:
        return self._compared if self._compared is not None else self.__slots__

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields())

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields())
        return f"{type(self).__qualname__}({shown})"

    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __reduce__(self) -> tuple[Any, ...]:
        """Copied and pickled field by field (``copy`` would set them one by one)."""
        slots = self.__slots__
        return (_rebuild, (type(self), {n: getattr(self, n) for n in slots if hasattr(self, n)}))


def _rebuild(cls: type[Record], fields: dict[str, Any]) -> Record:
    record = object.__new__(cls)
    record._init(**fields)
    return record
