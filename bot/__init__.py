"""perpwatch: the Telegram layer."""

import os

__version__ = "0.1.0"

# python-telegram-bot 22 is moving time periods (RetryAfter.retry_after...) from int seconds to
# timedelta and warns on every use until a program opts in; perpwatch handles timedeltas.
os.environ.setdefault("PTB_TIMEDELTA", "true")
