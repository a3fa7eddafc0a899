"""Sampler and Estimator (V2 primitives) on every qiskit-multicloud backend.

>>> from qiskit_multicloud.primitives import Sampler, Estimator   # doctest: +SKIP
>>> job = Sampler(backend).run([isa_circuit], shots=1000)         # doctest: +SKIP
>>> job.result()[0].data.meas.get_counts()                        # doctest: +SKIP

Both send all circuits of one ``run`` in one ``backend.run`` call and keep the vendor job
ids in the result metadata; :func:`retrieve_primitive_job` rebuilds a job in a later process.
See ``docs/primitives.rst``.
"""

from .estimator import Estimator, EstimatorOptions
from .job import MultiCloudPrimitiveJob, retrieve_primitive_job
from .native import (
    NATIVE_ESTIMATORS,
    EstimationTask,
    EstimationValue,
    NativeEstimation,
    native_for,
    register_native_estimation,
)
from .sampler import Sampler, SamplerOptions

__all__ = [
    "NATIVE_ESTIMATORS",
    "EstimationTask",
    "EstimationValue",
    "Estimator",
    "EstimatorOptions",
    "MultiCloudPrimitiveJob",
    "NativeEstimation",
    "Sampler",
    "SamplerOptions",
    "native_for",
    "register_native_estimation",
    "retrieve_primitive_job",
]
