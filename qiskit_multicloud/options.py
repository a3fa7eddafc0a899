"""Typed run options: one base set shared by every backend, extended per vendor.

Each option is an :class:`OptionSpec` with a default, accepted types, bounds and a docstring.
``MultiCloudBackend._default_options`` builds Qiskit ``Options`` from the specs, and
:func:`resolve_run_options` validates what a user passes to ``run()``: unknown names warn by
name (they are not silently dropped), bad values raise :class:`CircuitValidationError`.

Numbers are taken from any numeric type (``numpy.int64`` shots, ``numpy.float64``
timeouts, ...) and stored as plain ``int``/``float`` so JSON payloads and the job store get
plain numbers. Options that ecosystem tools pass on every call (``meas_level=2``,
``meas_return``, ``init_qubits``, ...) are known here: honoured, accepted as documented
no-ops, or refused when their value asks for something these clouds cannot do (see the
"Run options" page of the docs).
"""

from __future__ import annotations

import dataclasses
import difflib
import numbers
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
        """Return ``value`` (numbers as plain ``int``/``float``) if valid.

        Raises:
            CircuitValidationError: wrong type, not an allowed choice, or out of bounds.
        """
        if value is None and self.default is None:
            return value
        value = self._plain_number(value)
        numeric_only = bool not in self.types and (int in self.types or float in self.types)
        if not isinstance(value, self.types) or (numeric_only and isinstance(value, bool)):
            names = " or ".join(t.__name__ for t in self.types)
            raise CircuitValidationError(
                f"run option {self.name}={value!r} must be {names} ({self.doc})"
            )
        if self.choices is not None and value not in self.choices:
            if len(self.choices) == 1:
                raise CircuitValidationError(
                    f"run option {self.name}={value!r} is not supported here: {self.doc}"
                )
            raise CircuitValidationError(
                f"run option {self.name}={value!r} must be one of {list(self.choices)} "
                f"({self.doc})"
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

    def _plain_number(self, value: Any) -> Any:
        """numpy (or other) integers/reals as ``int``/``float``; bools stay as they are.

        ``numpy.bool_`` is not an ``Integral``, and Python's ``bool`` is kept out on purpose
        (``shots=True`` is a mistake, not one shot).
        """
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return value
        if int in self.types and isinstance(value, numbers.Integral):
            return int(value)
        if float in self.types:
            return float(value)
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
        "translate_once",
        True,
        "for the points of a parameter sweep (the Sampler's parameter sets), translate the "
        "circuit once and write each point's values into that template; False binds and "
        "translates every point from scratch (same payload, slower; for debugging)",
        (bool,),
    ),
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
    # Passed by Qiskit's BackendSamplerV2 / qiskit-ibm-runtime local mode / qiskit-experiments.
    OptionSpec(
        "meas_level",
        2,
        "2 = classified 0/1 outcomes, the only kind these clouds return (no IQ data: "
        "meas_level 0 and 1 are not available)",
        (int,),
        choices=(2,),
    ),
    OptionSpec(
        "meas_return",
        "avg",
        "no-op: only matters for IQ data (meas_level 0/1), which these clouds do not return",
        (str,),
        choices=("avg", "single"),
    ),
    OptionSpec(
        "init_qubits",
        True,
        "qubits start in |0> every shot; the vendors always do this and it cannot be "
        "turned off",
        (bool,),
        choices=(True,),
    ),
    OptionSpec(
        "rep_delay",
        None,
        "the time between shots is chosen by this vendor; leave it unset (only OQC lets "
        "clients set it)",
        (int, float),
        choices=(None,),
    ),
    OptionSpec(
        "parameter_binds",
        None,
        "bind parameters before running (circuit.assign_parameters), or use the Sampler / "
        "Estimator with parameter values",
        (list, tuple),
        choices=(None,),
    ),
    OptionSpec(
        "noise_model",
        None,
        "a cloud device has its own noise (the emulated QPUs simulate the noise their "
        "device information publishes); for a custom noise model use Aer directly",
        (object,),
        choices=(None,),
    ),
)


def build_options(specs: Sequence[OptionSpec]) -> Options:
    """Qiskit ``Options`` with every spec's default and numeric bounds as validators."""
    options = Options(**{spec.name: spec.default for spec in specs})
    for spec in specs:
        if spec.choices is not None and len(spec.choices) > 1:
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
