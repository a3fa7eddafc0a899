"""Circuits to OQC task specs, and OQC results back to Qiskit bit order.

Pure functions, no HTTP: the adapter and the tests both use them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from qiskit.circuit import QuantumCircuit

from ...exceptions import CircuitValidationError, MalformedResponseError
from ...results import count_value, reverse_keys
from ..translate import emit_qasm, merge_registers, register_refs, single_refs, to_qasm2

#: Clients refuse POSTs above this many bytes (body plus headers); so does the service.
MAX_POST_BYTES = 128 * 1024
#: Room kept for request headers when checking one task against :data:`MAX_POST_BYTES`.
HEADER_ALLOWANCE = 2048
#: Target size of one batch submit body (the async SDK chunks at the same size).
CHUNK_BYTES = 100_000
#: Suffix of the readout-mitigation entries that may sit next to the registers in results.
MITIGATION_SUFFIX = "_readout_mitigation"

_CONFIG = "compiler_config.config"


def _enum(name: str, value: int) -> dict[str, Any]:
    return {"$type": f"<enum '{_CONFIG}.{name}'>", "$value": value}


def _object(name: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"$type": f"<class '{_CONFIG}.{name}'>", "$data": data}


def compiler_config(options: Mapping[str, Any]) -> dict[str, Any]:
    """The CompilerConfig object (before string encoding) for the run options.

    Results are always requested as ``binary_count`` (format Raw=1, transforms
    BinaryCount|DynamicStructureReturn=3). ``optimizations="none"`` sends Tket ``Empty``
    so the service keeps the circuit's qubit placement; ``"default"`` sends ``null``
    (the service's own default passes).
    """
    optimizations = None
    if options.get("optimizations") == "none":
        optimizations = _object("Tket", {"tket_optimizations": _enum("TketOptimizations", 1)})
    results_format = _object(
        "QuantumResultsFormat",
        {
            "format": _enum("InlineResultsProcessing", 1),
            "transforms": _enum("ResultsFormatting", 3),
        },
    )
    return _object(
        "CompilerConfig",
        {
            "repeats": int(options["shots"]),
            "repetition_period": options.get("repetition_period"),
            "passive_reset_time": _first_set(
                options.get("passive_reset_time"), options.get("rep_delay")
            ),
            "results_format": results_format,
            "metrics": _enum("MetricsType", int(options.get("metrics") or 6)),
            "active_calibrations": [],
            "optimizations": optimizations,
            "error_mitigation": None,
        },
    )


def _first_set(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def merged_register_name(circuit: QuantumCircuit) -> str:
    """A classical register name that clashes with none of the circuit's quantum registers."""
    taken = {reg.name for reg in circuit.qregs}
    for name in ("c", "meas", "cbits", "c_merged"):
        if name not in taken:
            return name
    index = 0
    while f"c{index}" in taken:
        index += 1
    return f"c{index}"


def program(circuit: QuantumCircuit) -> str:
    """OpenQASM 2 text of ``circuit`` with every classical register merged into one.

    OQC returns an independent histogram per register (cross-register correlations are
    lost), so one register keeps the joint distribution; it is split back on return.
    """
    text = program_template(circuit, None)
    return text if text is not None else program_exported(circuit)


def program_template(
    circuit: QuantumCircuit, placeholders: Mapping[tuple[int, int], str] | None
) -> str | None:
    """:func:`program` through the fast emitter, with ``placeholders`` written in place of
    those angles (a sweep's template; see :mod:`qiskit_multicloud.sweeps`), or ``None``."""
    name = merged_register_name(circuit)
    quantum = register_refs(circuit.qregs, circuit.qubits)
    if quantum is None:
        return None
    return emit_qasm(
        circuit, 2, quantum[0], [(name, circuit.num_clbits)], quantum[1],
        single_refs(circuit.clbits, name), placeholders=placeholders,
    )


def program_exported(circuit: QuantumCircuit) -> str:
    """:func:`program` through Qiskit's exporter (the reference the fast path matches)."""
    merged = merge_registers(circuit, merged_register_name(circuit))
    return to_qasm2(merged)


def task_spec(
    circuit: QuantumCircuit | None,
    qpu_id: str,
    config: Mapping[str, Any] | str,
    tag: str,
    *,
    program: str | None = None,
) -> dict[str, Any]:
    """One TaskSpec of ``POST {qpu}/tasks/submit`` (no ``task_id``).

    ``config`` is embedded as a JSON **string** (the service double-decodes it); it may be
    given already encoded. ``program`` is the circuit's QASM if already translated (then
    ``circuit`` may be ``None``).
    """
    if program is None:
        if circuit is None:
            raise ValueError("task_spec needs a circuit or its program")
        program = _program_of(circuit)
    return {
        "program": program,
        "config": config if isinstance(config, str) else json.dumps(config),
        "qpu_id": qpu_id,
        "tag": tag,
    }


_program_of = program


def body_size(body: Any) -> int:
    """Bytes of ``body`` serialised the way ``requests`` sends JSON."""
    return len(json.dumps(body).encode("utf-8"))


#: ASCII control characters other than newline (JSON escapes them as ``\uXXXX``).
_CONTROL = bytes([*range(10), *range(11, 32), 127])


def json_text_size(text: str) -> int:
    """``len(json.dumps(text))``, counted without encoding (QASM is ASCII with newlines and
    quotes; anything else is encoded to be sure)."""
    if not text.isascii():
        return len(json.dumps(text).encode("utf-8"))
    raw = text.encode("ascii")
    if len(raw.translate(None, _CONTROL)) != len(raw):
        return len(json.dumps(text))
    return len(raw) + 2 + raw.count(b"\n") + raw.count(b'"') + raw.count(b"\\")


def check_task_size(spec: Mapping[str, Any], label: str) -> None:
    """Raise if one task alone would make a submit body over the 128 KiB limit."""
    program = spec["program"]
    padded = {
        "tasks": [{**spec, "program": "", "task_id": "00000000-0000-4000-8000-000000000000"}]
    }
    size = body_size(padded) - 2 + json_text_size(program)
    limit = MAX_POST_BYTES - HEADER_ALLOWANCE
    if size > limit:
        raise CircuitValidationError(
            f"{label} is {size} bytes as an OQC task, over the {limit}-byte request limit "
            "(OQC refuses POST bodies above 128 KiB); split it into smaller circuits"
        )


def chunk_tasks(
    tasks: list[dict[str, Any]], limit: int = CHUNK_BYTES
) -> list[list[dict[str, Any]]]:
    """Split tasks into submit bodies of at most ``limit`` bytes (a bigger task goes alone)."""
    chunks: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = body_size({"tasks": []})
    for task in tasks:
        task_bytes = body_size(task) + 2
        if current and size + task_bytes > limit:
            chunks.append(current)
            current, size = [], body_size({"tasks": []})
        current.append(task)
        size += task_bytes
    if current:
        chunks.append(current)
    return chunks


def _histogram(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise MalformedResponseError(
            f"oqc: {where} is a {type(value).__name__}, expected a {{bitstring: count}} object",
            vendor="oqc",
        )
    counts: dict[str, int] = {}
    for key, count in value.items():
        if not isinstance(key, str) or (key and key.strip("01")):
            raise MalformedResponseError(
                f"oqc: {where} has key {key!r}, which is not a bitstring", vendor="oqc"
            )
        counts[key] = count_value(count, vendor="oqc", where=f"{where}, key {key!r}")
    return counts


def is_flat(results: Mapping[str, Any]) -> bool:
    """True when ``results`` is a bare histogram (the register layer was dropped)."""
    values = [v for k, v in results.items() if not k.endswith(MITIGATION_SUFFIX)]
    return bool(values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def counts_from_results(results: Any, width: int, task_id: str) -> dict[str, int]:
    """Qiskit-order counts (clbit 0 rightmost) from one task's ``results`` value.

    Accepts ``{"<register>": {"<bits>": n}}`` (the merged register) and the flat form
    ``{"<bits>": n}``; ``*_readout_mitigation`` entries are ignored. OQC puts register bit 0
    leftmost, so every key is reversed.

    Raises:
        MalformedResponseError: not a histogram, or no single register matches ``width``.
    """
    where = f"results of task {task_id}"
    if not isinstance(results, Mapping):
        raise MalformedResponseError(
            f"oqc: {where} is {type(results).__name__}, expected an object of registers",
            vendor="oqc",
        )
    if is_flat(results):
        raw = _histogram(
            {k: v for k, v in results.items() if not k.endswith(MITIGATION_SUFFIX)}, where
        )
    else:
        registers = {
            name: value
            for name, value in results.items()
            if not name.endswith(MITIGATION_SUFFIX)
        }
        if len(registers) > 1:
            registers = {
                name: value
                for name, value in registers.items()
                if isinstance(value, Mapping) and all(len(k) == width for k in value)
            }
        if len(registers) != 1:
            raise MalformedResponseError(
                f"oqc: {where} has registers {sorted(results)}; expected exactly one "
                f"{width}-bit register (the merged one)",
                vendor="oqc",
            )
        name, value = next(iter(registers.items()))
        raw = _histogram(value, f"{where}, register {name!r}")
    return reverse_keys(raw)


def mitigation_entries(results: Any) -> dict[str, Any]:
    """The ``*_readout_mitigation`` entries of a results object (kept as metadata)."""
    if not isinstance(results, Mapping):
        return {}
    return {k: v for k, v in results.items() if k.endswith(MITIGATION_SUFFIX)}
