"""Prometheus metrics: one registry per app (tests build many apps); DB-backed gauges computed at scrape."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func
from sqlmodel import Session, select

from models import AdverseEvent, JobStatus, ScanJob


class _DbCollector:
    def __init__(self, engine):
        self.engine = engine

    def collect(self):
        depth = GaugeMetricFamily("aew_scan_queue_depth", "Scan jobs by status", labels=["status"])
        events = GaugeMetricFamily("aew_events", "Adverse events by category and status",
                                   labels=["category", "status"])
        try:
            with Session(self.engine) as s:
                counts = dict(s.exec(select(ScanJob.status, func.count()).group_by(ScanJob.status)).all())
                for st in JobStatus:
                    depth.add_metric([st.value], counts.get(st, 0))
                for cat, st, n in s.exec(select(AdverseEvent.category, AdverseEvent.status, func.count())
                                         .group_by(AdverseEvent.category, AdverseEvent.status)).all():
                    events.add_metric([cat, getattr(st, "value", str(st))], n)
        except Exception:  # noqa: BLE001 — a scrape must not fail because the DB is briefly busy
            pass
        yield depth
        yield events


class Metrics:
    def __init__(self, engine):
        self.registry = CollectorRegistry()
        self.notes_ingested = Counter("aew_notes_ingested", "Notes accepted by the API", ["result"],
                                      registry=self.registry)
        self.scan_seconds = Histogram("aew_scan_latency_seconds", "Time to scan and file one note",
                                      buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10), registry=self.registry)
        self.findings = Counter("aew_findings", "Findings stored", ["kind", "category"], registry=self.registry)
        self.http_requests = Counter("aew_http_requests", "HTTP requests", ["method", "status"],
                                     registry=self.registry)
        self.unhandled_errors = Counter("aew_unhandled_errors", "Requests that ended in an unexpected server error",
                                        ["error"], registry=self.registry)
        self.registry.register(_DbCollector(engine))

    def observe_scan(self, seconds: float, findings) -> None:
        self.scan_seconds.observe(seconds)
        for f in findings:
            self.findings.labels(f.kind, f.category).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
