"""The poll scheduler spreads users over their interval and survives a failing poll."""

from __future__ import annotations

import asyncio

from cryptography.fernet import Fernet

from core.plans import Plan
from core.poller import PollOutcome, PollScheduler
from core.storage.crypto import KeyVault
from core.storage.db import open_database
from core.storage.repo import Repository


class FakePoller:
    default_interval = 300

    def __init__(self, fail_for: set[int] = frozenset(), hang_for: set[int] = frozenset()):
        self.polled: list[int] = []
        self.fail_for, self.hang_for = fail_for, hang_for

    async def poll_user(self, user):
        self.polled.append(user.id)
        if user.id in self.hang_for:
            await asyncio.sleep(60)
        if user.id in self.fail_for:
            raise RuntimeError("a bug")
        return PollOutcome(user.id)


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
    scheduler = PollScheduler(repo, FakePoller(), clock=lambda: now[0])
    scheduler.stagger()
    times = sorted(repo.get_user(uid).next_poll_at - now[0] for uid in range(1, 201))
    assert 0 <= times[0] and times[-1] < 300
    buckets = [sum(1 for t in times if lo <= t < lo + 60) for lo in range(0, 300, 60)]
    assert min(buckets) >= 20                                      # no thundering herd


async def test_a_failing_or_hanging_poll_does_not_stop_the_others(tmp_path):
    now = [1_800_000_000.0]
    repo = make_repo(tmp_path, now)
    poller = FakePoller(fail_for={3}, hang_for={4})
    scheduler = PollScheduler(repo, poller, poll_timeout=lambda interval: 0.3,
                              clock=lambda: now[0])
    outcomes = await scheduler.run_all_due()
    assert len(poller.polled) == 200
    assert sum(1 for o in outcomes if o is not None) == 198
    assert repo.get_user(3).last_error == "internal error during poll"
    assert "too long" in repo.get_user(4).last_error
    assert scheduler.in_flight == 0
