"""Matplotlib drawing of a :class:`~qiskit_multicloud.selection.compare.Comparison`.

Needs the ``visualization`` extra (``pip install "qiskit-multicloud[visualization]"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exceptions import ConfigurationError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .compare import Comparison


def plot_comparison(comparison: Comparison, path: str | None = None, top: int = 16) -> Figure:
    """Histograms side by side (top) and estimated vs measured fidelity (bottom)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigurationError(
            'plotting needs matplotlib: pip install "qiskit-multicloud[visualization]"'
        ) from exc

    runs = comparison.runs
    weight: dict[str, float] = dict(comparison.ideal or {})
    for run in comparison.succeeded:
        total = sum((run.counts or {}).values()) or 1
        for key, value in (run.counts or {}).items():
            weight[key] = weight.get(key, 0.0) + value / total
    outcomes = sorted(sorted(weight, key=lambda k: -weight[k])[:top])
    series: list[tuple[str, list[float]]] = []
    if comparison.ideal is not None:
        series.append(("ideal", [comparison.ideal.get(k, 0.0) for k in outcomes]))
    for run in comparison.succeeded:
        total = sum((run.counts or {}).values()) or 1
        series.append((run.name, [(run.counts or {}).get(k, 0) / total for k in outcomes]))

    figure = Figure(figsize=(max(7.0, 0.6 * len(outcomes) * max(1, len(series)) / 2), 7.5))
    hist, bars = figure.subplots(2, 1, gridspec_kw={"height_ratios": [3, 2]})
    width = 0.8 / max(1, len(series))
    for index, (label, values) in enumerate(series):
        positions = [i + (index - (len(series) - 1) / 2) * width for i in range(len(outcomes))]
        hist.bar(positions, values, width=width, label=label,
                 color="lightgray" if label == "ideal" else None,
                 edgecolor="black" if label == "ideal" else None)
    hist.set_xticks(range(len(outcomes)))
    hist.set_xticklabels(outcomes, rotation=60 if len(outcomes) > 8 else 0, fontsize=8)
    hist.set_ylabel("probability")
    hist.set_title(f"{comparison.circuit.name}: {comparison.shots} shots per device")
    peak = max((max(values, default=0.0) for _, values in series), default=1.0)
    hist.set_ylim(0, peak * 1.3 or 1.0)
    hist.legend(fontsize=7, ncol=3, loc="upper center")

    names = [run.name for run in runs]
    estimated = [run.estimate.probability if run.estimate else 0.0 for run in runs]
    measured = [run.fidelity if run.fidelity is not None else 0.0 for run in runs]
    positions = list(range(len(runs)))
    bars.bar([p - 0.2 for p in positions], estimated, width=0.4, label="estimated success")
    bars.bar([p + 0.2 for p in positions], measured, width=0.4,
             label=f"measured Hellinger fidelity vs {comparison.reference}")
    for position, run in zip(positions, runs, strict=True):
        if not run.ok:
            bars.text(position + 0.2, 0.03, run.status, ha="center", va="bottom", rotation=90,
                      fontsize=8, color="darkred")
    bars.set_xticks(positions)
    bars.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    bars.set_ylim(0, 1.35)
    bars.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    bars.set_ylabel("fidelity")
    bars.legend(fontsize=7, loc="upper center", ncol=2)
    figure.tight_layout()
    if path is not None:
        figure.savefig(path, dpi=90)
    return figure
