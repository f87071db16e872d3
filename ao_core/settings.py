"""Settings read from environment variables, each declared once by the module that uses it.

A :class:`Setting` names its variable, its default, how to parse it and a line of help;
the man pages list every declared setting from these declarations. Settings are read
where they are used (``config.get(SETTING)``), so a bad value fails only the command that
needs it, with one line naming the variable. The core declares its own in
:mod:`ao_core.config`; a backend, built-in or third-party, declares its own as a
``settings`` attribute (a sequence of :class:`Setting`) and reads them the same way.
(``math`` is imported by the parser of seconds when it parses: most commands read none.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from ao_core.errors import ConfigError
from ao_core.frozen import Record

T = TypeVar("T")

#: The longest number of seconds any setting or option accepts (about 11.5 days): more
#: than any wait needs, and small enough for every timer and socket timeout.
MAX_SECONDS = 1e6


class Setting(Record, Generic[T]):
    """One environment variable: its name, default, parser and a line of help.

    ``also`` are further variable names read, in order, when ``variable`` is unset or
    empty (a newer or older spelling). ``parse`` raises ``ValueError`` with a message
    that completes "VARIABLE must be ...". A ``secret`` value is never shown.
    """

    __slots__ = ("variable", "default", "help", "parse", "also", "secret", "default_text")

    variable: str
    default: T
    help: str
    parse: Callable[[str], T]
    also: tuple[str, ...]
    secret: bool
    default_text: str | None

    def __init__(
        self,
        variable: str,
        default: T,
        help: str,
        parse: Callable[[str], T] = str,  # type: ignore[assignment]
        also: tuple[str, ...] = (),
        secret: bool = False,
        default_text: str | None = None,
    ) -> None:
        self._init(
            variable=variable,
            default=default,
            help=help,
            parse=parse,
            also=also,
            secret=secret,
            default_text=default_text,
        )

    def read(self, environ: Mapping[str, str]) -> T:
        """The value from ``environ``, else the default; :class:`ConfigError` if unusable."""
        for variable in (self.variable, *self.also):
            raw = environ.get(variable)
            if raw is None or not raw.strip():
                continue
            try:
                return self.parse(raw)
            except ValueError as exc:
                shown = "the value given" if self.secret else repr(raw)
                raise ConfigError(f"{variable} must be {exc}, not {shown}") from None
        return self.default

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable this setting reads."""
        return (self.variable, *self.also)

    @property
    def shown_default(self) -> str:
        """The default as the help and man pages show it."""
        if self.default_text is not None:
            return self.default_text
        if self.default is None:
            return "unset"
        if isinstance(self.default, float):
            return f"{self.default:g}"
        return str(self.default)


def seconds(*, zero_ok: bool = False) -> Callable[[str], float]:
    """A parser of a number of seconds: finite, positive (or 0), at most :data:`MAX_SECONDS`."""
    least = "0 or more" if zero_ok else "a positive number of"
    expected = f"{least} seconds (at most {MAX_SECONDS:.0f})"

    def parse(value: str) -> float:
        import math

        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not (math.isfinite(number) and (number > 0 or (zero_ok and number == 0))):
            raise ValueError(expected)
        if number > MAX_SECONDS:
            raise ValueError(expected)
        return number

    return parse


def is_on(value: str | None) -> bool:
    """True for ``1``, ``true``, ``yes`` or ``on``, in any case."""
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def declared(plugin: object) -> tuple[Setting, ...]:
    """The settings a backend declares in its ``settings`` attribute (none: empty)."""
    found = getattr(plugin, "settings", ())
    return tuple(s for s in found if isinstance(s, Setting)) if found else ()
