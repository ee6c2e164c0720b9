"""``python -m bench`` (or ``make bench``): every benchmark in turn, each printing its figures."""

from __future__ import annotations

from bench import charts, fanout, guard, hours, latency, poll_cycle, replay, rules, scheduler, signals, stream, webhook


def main() -> None:
    signals.main([])
    print()
    guard.main([])
    print()
    poll_cycle.main([])
    print()
    scheduler.main([])
    print()
    latency.main([])
    print()
    fanout.main([])
    print()
    charts.main([])
    print()
    webhook.main([])
    rules.main([])
    stream.main([])
    print()
    hours.main([])
    print()
    replay.main([])


if __name__ == "__main__":
    main()
