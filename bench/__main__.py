"""``python -m bench`` (or ``make bench``): every benchmark in turn, each printing its figures."""

from __future__ import annotations

from bench import charts, fanout, guard, poll_cycle, signals, webhook


def main() -> None:
    signals.main([])
    print()
    guard.main([])
    print()
    poll_cycle.main([])
    print()
    fanout.main([])
    print()
    charts.main([])
    print()
    webhook.main([])


if __name__ == "__main__":
    main()
