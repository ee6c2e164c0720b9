"""Real-time liquidations over CoinGlass's WebSocket for Standard+ keys (SPEC §11).

- ``frames``: what the socket sends, read in both documented spellings.
- ``fold``: rolling 1 h long/short totals per coin, anchored on the polled figure.
- ``client``: one key's connection: subscribe, ping/pong, reconnect with back-off.
- ``decide``: a stream update through the same alert decision and outbox as a poll.
- ``manager``: which keys stream (one connection per key), the poller's hook, ``/status``
  and ``/healthz`` figures; ``status``: what ``/status`` shows of it.

No Telegram here: decided alerts are outbox rows like a poll's, with ``"source": "stream"``.
"""
