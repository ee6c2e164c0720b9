"""``GET /healthz``: 200 while the bot works, 503 naming why when it does not."""

from __future__ import annotations

import pytest

from bot import jobs
from bot.health import BacklogTrend
from bot.services import SERVICES_KEY
from tests.e2e.conftest import KEYS, USER, bot_settings, cg, tg  # noqa: F401  (fixtures)
from tests.ops_support import eventually_health, free_port, healthz, serving


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def settings(tmp_path, tg, cg, port):  # noqa: F811
    return bot_settings(tg, cg, tmp_path / "perpwatch.db", PORT=str(port))


async def subscribe(tg, coin: str = "ETH") -> None:  # noqa: F811
    tg.user_sends(USER, f"/setkey {KEYS['professional']}")
    await tg.wait_for_message(USER, "Key saved", timeout=20)
    tg.user_sends(USER, f"/subscribe {coin}")
    await tg.wait_for_message(USER, f"Watching {coin}", timeout=15)


async def test_healthy_while_polling_with_the_documented_fields(settings, tg, port):  # noqa: F811
    async with serving(settings) as runner:
        await subscribe(tg)
        health = await eventually_health(port, 200)
        assert {"database", "last_poll_age_s", "outbox_backlog", "stream"} <= set(health)
        assert health["status"] == "ok" and health["mode"] == "polling"
        assert health["telegram"] == "ok" and health["database"] == "ok"
        assert health["stream"] == "off" and health["problems"] == []
        assert health["last_poll_age_s"] is not None and health["last_poll_age_s"] < 10
        assert health["outbox_backlog"] == 0

        # The stream (another component) reports through its hook.
        runner.app.bot_data[SERVICES_KEY].stream_state = lambda: "connected: 1 key"
        assert (await healthz(port))[1]["stream"] == "connected: 1 key"


async def test_a_stalled_scheduler_is_unhealthy_until_polls_run_again(
        settings, tg, port):  # noqa: F811
    async with serving(settings) as runner:
        await subscribe(tg)
        await eventually_health(port, 200)
        (tick,) = runner.app.job_queue.get_jobs_by_name("poll")
        tick.schedule_removal()                  # the scheduler stops starting polls
        health = await eventually_health(port, 503, problem="no poll for", timeout=20)
        assert health["status"] == "unhealthy" and health["database"] == "ok"
        jobs.schedule(runner.app.job_queue)      # polls resume (housekeeping added twice: fine)
        await eventually_health(port, 200, timeout=20)


async def test_an_outbox_that_only_grows_is_unhealthy_then_healthy_once_it_drains(
        settings, tg, cg, port):  # noqa: F811
    async with serving(settings, backlog_window=1.0, health_every=0.2) as runner:
        await subscribe(tg)
        svc = runner.app.bot_data[SERVICES_KEY]
        await svc.sender.stop(1.0)               # the sender is stuck
        cg.market.scenario("cascade", "ETH")
        health = await eventually_health(port, 503, problem="outbox backlog growing", timeout=30)
        assert health["outbox_backlog"] >= 1
        svc.sender.start(runner.app.bot)
        await tg.wait_for_message(USER, "🔴 ETH", timeout=20)
        await eventually_health(port, 200, timeout=20)      # (new alerts may be queued)


async def test_an_unreachable_database_is_unhealthy(settings, tg, port):  # noqa: F811
    async with serving(settings) as runner:
        await subscribe(tg)
        await eventually_health(port, 200)
        svc = runner.app.bot_data[SERVICES_KEY]
        runner.app.job_queue.scheduler.pause()
        await svc.sender.stop(1.0)
        await tg.wait_until(lambda: svc.scheduler.in_flight == 0, timeout=60)
        svc.repo.db.conn.close()
        health = await eventually_health(port, 503, problem="database unreachable")
        assert health["database"].startswith("unreachable")


def test_backlog_trend_counts_rising_and_flat_but_not_draining():
    trend = BacklogTrend(window=600)
    trend.observe(0, 0)
    trend.observe(30, 5)                    # rose: the clock starts
    trend.observe(300, 5)                   # flat: still stuck
    assert not trend.stuck(599)
    trend.observe(600, 9)
    assert trend.stuck(630)
    trend.observe(660, 8)                   # went down: the sender works
    assert not trend.stuck(2000)
    trend.observe(700, 8)                   # flat after a drop: not rising
    assert not trend.stuck(2000)
    trend.observe(720, 0)
    trend.observe(750, 1500)                # a fan-out that drains is fine
    trend.observe(780, 200)
    assert not trend.stuck(2000)
