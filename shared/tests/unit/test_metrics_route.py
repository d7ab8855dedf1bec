"""GET /metrics is documented as what it answers: the Prometheus text format (schemathesis
found every service's document promising application/json)."""

from __future__ import annotations

from fastapi import FastAPI

from lendkit.metrics import router


def test_metrics_is_documented_as_prometheus_text() -> None:
    app = FastAPI()
    app.include_router(router)
    ok = app.openapi()["paths"]["/metrics"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/plain"]
    assert ok["content"]["text/plain"]["schema"] == {"type": "string"}
