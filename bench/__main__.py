"""``python -m bench`` (or ``make bench``): every benchmark in turn, each printing its figures."""

from __future__ import annotations

from bench import charts, fanout, poll_cycle, replay, signals, webhook


def main() -> None:
    signals.main([])
    print()
    poll_cycle.main([])
    print()
    fanout.main([])
    print()
    charts.main([])
    print()
    webhook.main([])
    print()
    replay.main([])


if __name__ == "__main__":
    main()
