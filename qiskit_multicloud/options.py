"""Typed run options: one base set shared by every backend, extended per vendor.

Each option is an :class:`OptionSpec` with a default, accepted types, bounds and a docstring.
``MultiCloudBackend._default_options`` builds Qiskit ``Options`` from the specs, and
:func:`resolve_run_options` validates what a user passes to ``run()``: unknown names warn by
name (they are not silently dropped), bad values raise :class:`CircuitValidationError`.
"""

from __future__ import annotations

import dataclasses
import difflib
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, cast

from qiskit.providers import Options

from .exceptions import CircuitValidationError, MultiCloudWarning


@dataclasses.dataclass(frozen=True)
class OptionSpec:
    """One run option.

    Attributes:
        name: keyword accepted by ``run()``.
        default: value used when the user gives none.
        doc: what it does (shown in the docs and in error messages).
        types: accepted Python types (``None`` is accepted when the default is ``None``).
        bounds: inclusive numeric (min, max); ``None`` for max means the device decides.
        choices: the allowed values, for enumerations.
    """

    name: str
    default: Any
    doc: str
    types: tuple[type, ...] = (object,)
    bounds: tuple[float | None, float | None] | None = None
    choices: tuple[Any, ...] | None = None

    def check(self, value: Any, *, upper: float | None = None) -> Any:
        """Return ``value`` if valid, else raise :class:`CircuitValidationError`."""
        if value is None and self.default is None:
            return value
        numeric_only = bool not in self.types and (int in self.types or float in self.types)
        if not isinstance(value, self.types) or (numeric_only and isinstance(value, bool)):
            names = " or ".join(t.__name__ for t in self.types)
            raise CircuitValidationError(
                f"run option {self.name}={value!r} must be {names} ({self.doc})"
            )
        if self.choices is not None and value not in self.choices:
            raise CircuitValidationError(
                f"run option {self.name}={value!r} must be one of {list(self.choices)}"
            )
        if self.bounds is not None:
            low, high = self.bounds
            high = upper if upper is not None else high
            number = float(cast(float, value))
            if (low is not None and number < low) or (high is not None and number > high):
                raise CircuitValidationError(
                    f"run option {self.name}={value!r} is out of range "
                    f"[{low}, {high if high is not None else 'inf'}] ({self.doc})"
                )
        return value


BASE_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("shots", 1000, "repetitions of each circuit", (int,), (1, None)),
    OptionSpec(
        "memory",
        False,
        "also return per-shot outcomes (synthesised from counts where the vendor has none; "
        "see result metadata 'memory_synthesised')",
        (bool,),
    ),
    OptionSpec(
        "timeout",
        None,
        "seconds job.result() waits by default before raising JobTimeoutError (None = forever)",
        (int, float),
        (0, None),
    ),
    OptionSpec(
        "submit_timeout",
        120.0,
        "seconds backend.run() may spend on the network requests of the submit (every chunk, "
        "retries and waits included; translation is not counted); when it runs out with a "
        "request unanswered the submit ends as SubmissionUncertainError, recorded in the job "
        "store",
        (int, float),
        (0.1, 86400),
    ),
    OptionSpec(
        "poll_interval", 0.5, "first wait between status polls, seconds", (int, float), (0, 3600)
    ),
    OptionSpec(
        "max_poll_interval",
        10.0,
        "longest wait between status polls, seconds (the wait grows by half each poll)",
        (int, float),
        (0, 3600),
    ),
    OptionSpec("job_tags", None, "free-text tags recorded with the job", (list, tuple)),
    OptionSpec(
        "allow_offline",
        False,
        "submit even when the vendor reports the device offline or inactive (it may queue "
        "the job until the device returns, or reject it); by default run() refuses before "
        "sending anything",
        (bool,),
    ),
    OptionSpec(
        "seed_simulator",
        None,
        "accepted because Qiskit primitives pass it; vendor devices ignore it",
        (int,),
    ),
)


def build_options(specs: Sequence[OptionSpec]) -> Options:
    """Qiskit ``Options`` with every spec's default and numeric bounds as validators."""
    options = Options(**{spec.name: spec.default for spec in specs})
    for spec in specs:
        if spec.choices is not None:
            options.set_validator(spec.name, list(spec.choices))
    return options


def resolve_run_options(
    specs: Sequence[OptionSpec],
    defaults: Options,
    given: Mapping[str, Any],
    *,
    max_shots: int | None = None,
) -> dict[str, Any]:
    """Merge ``run()`` keyword arguments over the backend's current options.

    Unknown names trigger a :class:`MultiCloudWarning` naming the closest known option and
    are otherwise ignored.

    Raises:
        CircuitValidationError: a value has the wrong type or is out of bounds.
    """
    by_name = {spec.name: spec for spec in specs}
    resolved = {spec.name: getattr(defaults, spec.name, spec.default) for spec in specs}
    for name, value in given.items():
        if name not in by_name:
            close = difflib.get_close_matches(name, by_name, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            warnings.warn(
                f"run option {name!r} is not known to this backend and is ignored{hint} "
                f"(known: {', '.join(sorted(by_name))})",
                MultiCloudWarning,
                stacklevel=3,
            )
            continue
        resolved[name] = value
    for name, value in resolved.items():
        upper = max_shots if name == "shots" else None
        resolved[name] = by_name[name].check(value, upper=upper)
    return resolved
