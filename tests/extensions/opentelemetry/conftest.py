"""Fixtures of the OpenTelemetry suite: an SDK tracer provider exporting to memory, an SDK meter
provider read in memory, and the instrumentor instrumented with both for the test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sqlspec import SQLSpec
from sqlspec.extensions.opentelemetry import SQLSpecInstrumentor


@pytest.fixture
def spec() -> Iterator[SQLSpec]:
    """A fresh registry whose pools are closed at teardown."""
    registry = SQLSpec()
    yield registry
    registry.close_all_pools()


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    spans: InMemorySpanExporter
    meter_provider: MeterProvider
    metrics: InMemoryMetricReader
    instrumentor: SQLSpecInstrumentor


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    """The instrumentor, instrumented with in-memory providers (uninstrumented afterwards)."""
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = SQLSpecInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield Telemetry(tracer_provider, spans, meter_provider, reader, instrumentor)
    finally:
        instrumentor.uninstrument()
        meter_provider.shutdown()
        tracer_provider.shutdown()
