# Fieldroute: the HTTP service (fieldroute serve) on SQLite (a volume) or PostgreSQL (by URL).
#   docker build -t fieldroute .
#   docker run -p 8000:8000 -v fieldroute:/data fieldroute                      # SQLite in /data
#   docker run -p 8000:8000 -e FIELDROUTE_DATABASE_URL=postgresql+psycopg://u@db/fieldroute fieldroute
#   docker run -p 8000:8000 fieldroute fieldroute serve --host 0.0.0.0 --demo  # the demo team
# Any glibc base with python3 (>= 3.12: the OSRM wheel's floor) and its venv module works: BASE
# defaults to the official slim image; `make image-check` builds on a debootstrapped Debian 13
# (trixie, Python 3.13) instead (no registry here).
ARG BASE=python:3.12-slim
FROM ${BASE}

# Only for builds behind a TLS-inspecting proxy: the path of a CA bundle mounted at build
# time (never copied into the image), e.g. --build-arg PIP_CERT=/run/host-ca.crt.
ARG PIP_CERT=

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FIELDROUTE_DATA_DIR=/data \
    FIELDROUTE_CACHE=/data/cache \
    FIELDROUTE_PORT=8000 \
    PATH=/opt/fieldroute/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY routing ./routing
COPY maps ./maps
COPY api ./api
COPY data ./data
RUN python3 -m venv /opt/fieldroute \
 && ${PIP_CERT:+env PIP_CERT=$PIP_CERT} /opt/fieldroute/bin/pip install --no-cache-dir --disable-pip-version-check . \
 && rm -rf /src \
 && groupadd --gid 10001 fieldroute \
 && useradd --uid 10001 --gid fieldroute --home-dir /data --no-create-home --shell /usr/sbin/nologin fieldroute \
 && mkdir -p /data \
 && chown fieldroute:fieldroute /data

USER fieldroute
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('FIELDROUTE_PORT', '8000')}/healthz\", timeout=4)"]
CMD ["fieldroute", "serve", "--host", "0.0.0.0"]
