"""``python -m bench`` (or ``make bench``): every benchmark in turn, each printing its figures."""

from __future__ import annotations

from bench import (charts, fanout, guard, hours, latency, poll_cycle, replay, rules, scheduler,
                   signals, stream, webhook)

ORDER = (signals, guard, poll_cycle, scheduler, latency, fanout, stream, charts, webhook, rules,
         hours, replay)


def main() -> None:
    for number, benchmark in enumerate(ORDER):
        if number:
            print()
        benchmark.main([])


if __name__ == "__main__":
    main()
