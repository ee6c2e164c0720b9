"""The poll scheduler spreads users over their interval, waits for a key's room instead of
cutting polls off, and survives a failing poll."""

from __future__ import annotations

import asyncio

from cryptography.fernet import Fernet

from core.budget import plan_budget
from core.evaluation import Prefs
from core.plans import Plan
from core.poller import PollContext, PollOutcome, PollScheduler
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import Repository


class FakePoller:
    """Polls nobody: records who was polled, fails or hangs on request."""

    default_interval = 300

    def __init__(self, repo, fail_for=frozenset(), hang_for=frozenset(), wait_for=None):
        self.repo = repo
        self.polled: list[int] = []
        self.fail_for, self.hang_for = fail_for, hang_for
        self.wait_for = wait_for or {}

    def budget(self, user, coins):
        return plan_budget(Plan.HOBBYIST, coins, interval=300)

    def context(self, user_id):
        user = self.repo.get_user(user_id)
        return PollContext(user, ("BTC",), "key", False, self.budget(user, 1), Prefs(), {})

    def pacing_wait(self, ctx):
        return self.wait_for.get(ctx.user.id, 0.0)

    async def poll(self, ctx):
        self.polled.append(ctx.user.id)
        if ctx.user.id in self.hang_for:
            await asyncio.sleep(60)
        if ctx.user.id in self.fail_for:
            raise RuntimeError("a bug")
        return PollOutcome(ctx.user.id)


def make_repo(tmp_path, now):
    repo = Repository(open_database(tmp_path / "s.db"), KeyVault(Fernet.generate_key().decode()),
                      clock=lambda: now[0])
    for uid in range(1, 201):
        repo.ensure_user(uid)
        repo.store_key(uid, f"k{uid}", Plan.HOBBYIST, 30, None)
        repo.add_coins(uid, ["BTC"])
    return repo


async def test_stagger_spreads_overdue_users_over_the_interval(tmp_path):
    now = [1_800_000_000.0]
    repo = make_repo(tmp_path, now)
    for uid in range(1, 201):
        repo.update_user(uid, next_poll_at=now[0] - 3600)          # overdue after downtime
    scheduler = PollScheduler(repo, FakePoller(repo), clock=lambda: now[0])
    scheduler.stagger()
    times = sorted(repo.get_user(uid).next_poll_at - now[0] for uid in range(1, 201))
    assert 0 <= times[0] and times[-1] < 300
    buckets = [sum(1 for t in times if lo <= t < lo + 60) for lo in range(0, 300, 60)]
    assert min(buckets) >= 20                                      # no thundering herd


async def test_a_failing_or_hanging_poll_does_not_stop_the_others(tmp_path):
    now = [1_800_000_000.0]
    repo = make_repo(tmp_path, now)
    poller = FakePoller(repo, fail_for={3}, hang_for={4})
    scheduler = PollScheduler(repo, poller, deadline=lambda ctx: 0.3, clock=lambda: now[0])
    outcomes = await scheduler.run_all_due()
    assert len(poller.polled) == 200
    assert sum(1 for o in outcomes if o is not None) == 198
    assert repo.get_user(3).last_error == "internal error during poll"
    assert "too long" in repo.get_user(4).last_error
    assert scheduler.in_flight == 0


async def test_a_poll_waits_for_its_keys_room_instead_of_starting_and_timing_out(tmp_path):
    now = [1_800_000_000.0]
    repo = make_repo(tmp_path, now)
    poller = FakePoller(repo, wait_for={7: 20.0})
    scheduler = PollScheduler(repo, poller, clock=lambda: now[0])
    await scheduler.run_all_due()
    assert 7 not in poller.polled and len(poller.polled) == 199
    assert repo.get_user(7).next_poll_at == now[0] + 20.0            # due when the key has room
    assert 7 not in [u.id for u in repo.due_users(now[0])]
    now[0] += 20.0
    poller.wait_for = {}
    await scheduler.run_all_due()
    assert poller.polled[-1] == 7


async def test_the_due_query_is_a_range_scan_of_one_index(tmp_path):
    now = [1_800_000_000.0]
    repo = make_repo(tmp_path, now)
    plan = list(repo.db.query("EXPLAIN QUERY PLAN SELECT * FROM users WHERE due_at <= ? "
                              "ORDER BY due_at LIMIT 10", [now[0]]))
    detail = " ".join(row["detail"] for row in plan)
    assert "USING INDEX" in detail and "due_at<?" in detail.replace(" ", "")
    # users who cannot be polled are not in the index range at all
    repo.pause(1, None)
    repo.remove_coins(2, None)
    repo.reject_key(3, "revoked")
    repo.set_active(4, False)
    due = {u.id for u in repo.due_users(now[0] + 10_000)}
    assert {1, 2, 3, 4}.isdisjoint(due) and len(due) == 196
