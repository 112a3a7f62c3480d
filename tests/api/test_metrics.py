"""GET /metrics: Prometheus text with request latency by route, the job queue, audit append
latency and the newest checkpoint's age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from oauth_harness import World
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.parser import text_string_to_metric_families

from persistence.database import session_factory
from persistence.jobs import new_job

Samples = dict[str, list[tuple[dict[str, str], float]]]


async def _scrape(world: World) -> Samples:
    response = await world.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE_PLAIN_0_0_4
    found: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def _value(samples: Samples, name: str, **labels: str) -> float:
    return sum(v for found, v in samples.get(name, []) if labels.items() <= found.items())


async def test_request_latency_is_reported_by_route_template(world: World) -> None:
    await world.http.get("/healthz")
    await world.http.get("/v1/me/accounts/8d2f6c1e-0000-4000-8000-000000000000")
    samples = await _scrape(world)
    count = "custodian_http_request_duration_seconds_count"
    assert _value(samples, count, route="/healthz", status="200") >= 1
    assert _value(samples, count, route="/v1/me/accounts/{account_id}", status="401") >= 1
    assert not any("8d2f6c1e" in str(labels) for labels, _ in samples[count])


async def test_queue_depth_and_oldest_job_age_come_from_the_database(world: World) -> None:
    samples = await _scrape(world)
    assert _value(samples, "custodian_metrics_database_up") == 1
    assert _value(samples, "custodian_jobs_queued") == 0
    assert _value(samples, "custodian_job_oldest_queued_age_seconds") == 0
    async with session_factory(world.engine)() as session:
        session.add(new_job("export", None, datetime.now(UTC) - timedelta(minutes=5)))
        session.add(new_job("export", None, datetime.now(UTC)))
        await session.commit()
    samples = await _scrape(world)
    assert _value(samples, "custodian_jobs_queued") == 2
    assert _value(samples, "custodian_job_oldest_queued_age_seconds") >= 300


async def test_audit_appends_and_checkpoint_age_are_reported(world: World) -> None:
    before = _value(await _scrape(world), "custodian_audit_append_seconds_count", path="read")
    await world.add_customer("metrics@example.com")
    tokens = await world.tokens_for("metrics@example.com", scope="profile:read")
    profile = await world.http.get(
        "/v1/me/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert profile.status_code == 200
    samples = await _scrape(world)
    assert _value(samples, "custodian_audit_append_seconds_count", path="read") > before
    assert "custodian_audit_checkpoint_age_seconds" in samples
