"""OpenTelemetry spans and metrics for every sqlspec statement (the ``opentelemetry`` extra).

>>> from sqlspec.extensions.opentelemetry import SQLSpecInstrumentor
>>> SQLSpecInstrumentor().instrument()  # doctest: +SKIP
"""

from sqlspec.extensions.opentelemetry._instrumentor import SQLSpecInstrumentor

__all__ = ("SQLSpecInstrumentor",)
