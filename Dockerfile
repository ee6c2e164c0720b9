# perpwatch in a container (SPEC §15): python -m bot as a non-root user, the database and its
# encryption key on the /data volume, /healthz probed by HEALTHCHECK.
#
#   docker build -t perpwatch .
#   docker run -d --name perpwatch --env-file .env -v perpwatch-data:/data \
#       -p 127.0.0.1:8080:8080 perpwatch
#   docker exec perpwatch python -m bot backup /data/backups
#
# Everything the bot must keep lives in /data: without a volume there, every restart of the
# container starts with no users. compose.yaml is the same as a file.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes. Every pinned
# package has a manylinux wheel, so the slim image needs no compiler.
COPY requirements.txt .
RUN pip install --no-compile -r requirements.txt

# The bot, its domain, and the simulators the offline demo runs on.
COPY bot ./bot
COPY core ./core
COPY sim ./sim

# A fixed uid, so a bind-mounted host folder can be given to it: chown 10001 /srv/perpwatch
RUN useradd --system --uid 10001 --no-create-home --home-dir /data --shell /usr/sbin/nologin \
        perpwatch \
    && mkdir -p /data \
    && chown perpwatch:perpwatch /data

ENV DATABASE_PATH=/data/perpwatch.db \
    PORT=8080 \
    MPLCONFIGDIR=/tmp/matplotlib

VOLUME /data
USER perpwatch
EXPOSE 8080

# GET http://127.0.0.1:$PORT/healthz with the standard library (slim has no curl): exit 0 on
# 200, 1 on 503 or no answer. start-period covers a first start that must reach Telegram.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "healthcheck"]

# SIGTERM stops the bot within 10 s (Docker waits 10 s before SIGKILL; compose.yaml gives 15).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
