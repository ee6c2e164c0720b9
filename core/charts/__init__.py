"""Charts of a coin's derivatives data, fetched with the user's own key and drawn as a PNG.

Public API::

    from core.charts import (
        WINDOWS, DEFAULT_WINDOW, parse_window, resolution,      # which candles for a window
        ChartData, MapData, ChartThresholds, Resolution,        # plain data
        ChartFetcher,                                            # CoinGlass → ChartData (cached)
        ChartRenderer,                                           # PNG bytes off the event loop
        ChartService, Chart,                                     # fetch + render, cached
        signals_now,                                             # the signal engine on the data
        ChartError, ChartUnavailable, BudgetBusy,
    )

``core.charts.render`` (``build_figure``, ``build_map_figure``, ``render_png``) imports
matplotlib and is imported only where a figure is drawn: in the render worker, in tests and
in the benchmark, never by the bot's main process when it renders in a process pool.
"""

from core.charts.data import ChartFetcher
from core.charts.executor import ChartRenderer
from core.charts.model import (
    DEFAULT_WINDOW, WINDOWS, BudgetBusy, ChartData, ChartError, ChartThresholds,
    ChartUnavailable, MapData, Resolution, parse_window, resolution,
)
from core.charts.service import Chart, ChartService
from core.charts.signals import signals_now

__all__ = [
    "WINDOWS", "DEFAULT_WINDOW", "parse_window", "resolution", "ChartData", "MapData",
    "ChartThresholds", "Resolution", "ChartFetcher", "ChartRenderer", "ChartService", "Chart",
    "signals_now", "ChartError", "ChartUnavailable", "BudgetBusy",
]
