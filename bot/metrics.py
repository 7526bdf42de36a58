"""Prometheus metrics, in a registry per service so tests can run several."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.inbound = Counter(
            "nightowl_inbound_messages",
            "Inbound messages by channel and result (accepted, duplicate, rejected).",
            ["channel", "result"],
            registry=self.registry,
        )
        self.outbound = Counter(
            "nightowl_outbound_messages",
            "Outbound send outcomes by channel (sent, retry, failed, skipped).",
            ["channel", "status"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "nightowl_queue_depth",
            "Rows waiting, by queue (inbox, outbox) and channel.",
            ["queue", "channel"],
            registry=self.registry,
        )
        self.dispatch_latency = Histogram(
            "nightowl_dispatch_latency_seconds",
            "From an outbox row being written to the provider accepting it.",
            ["channel"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
