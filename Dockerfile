# syntax=docker/dockerfile:1.7
# The production image of Engagement HRMS. One image runs every Python process of the
# stack (see docker-compose.yml): gunicorn by default, and with another command the
# one-shot migration, the Celery worker and Celery beat.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- Front-end assets: Node.js and npm exist only in this stage ----------------------
FROM node:22-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts

# --- Python dependencies, exactly as locked in uv.lock -----------------------------
FROM ${PYTHON_IMAGE} AS python-deps
COPY --from=ghcr.io/astral-sh/uv:0.13.8 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_CACHE_DIR=/var/cache/uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/var/cache/uv \
    uv sync --frozen --no-dev --no-install-project --python /usr/local/bin/python3.11

# --- Translation catalogues: compiled by GNU gettext, which stays out of the image ---
FROM ${PYTHON_IMAGE} AS catalogues
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY locale ./locale
RUN for po in locale/*/LC_MESSAGES/*.po; do msgfmt --check -o "${po%.po}.mo" "$po"; done

# --- Runtime --------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# WeasyPrint's system libraries (Pango, HarfBuzz and its subsetter, fontconfig) and a
# font, so PDFs render without fetching anything.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        libffi8 \
        fontconfig \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && fc-cache -f

RUN groupadd --system --gid 10001 hrms \
    && useradd --system --uid 10001 --gid hrms --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin hrms

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    MEDIA_ROOT=/var/lib/hrms/media \
    XDG_CACHE_HOME=/tmp/.cache

WORKDIR /app
COPY --from=python-deps /app/.venv /app/.venv
# settings.STATICFILES_DIRS reads these four packages from node_modules/.
COPY --from=assets /build/node_modules/bootstrap /app/node_modules/bootstrap
COPY --from=assets /build/node_modules/bootstrap-icons /app/node_modules/bootstrap-icons
COPY --from=assets /build/node_modules/chart.js /app/node_modules/chart.js
COPY --from=assets /build/node_modules/tom-select /app/node_modules/tom-select
COPY . /app
COPY --from=catalogues /build/locale /app/locale

# Static files are collected once, at build time, with the production storage
# (hashed, compressed names for WhiteNoise). The key only satisfies the settings'
# production check; it signs nothing and is not used at run time.
RUN DEBUG=false \
    SECRET_KEY=build-only-collectstatic-key-not-used-at-run-time-0000 \
    python manage.py collectstatic --noinput --verbosity 0 \
    && mkdir -p /var/lib/hrms/media /var/lib/hrms/beat \
    && chown -R hrms:hrms /var/lib/hrms

USER 10001:10001
EXPOSE 8000

# Workers: WEB_CONCURRENCY (gunicorn reads it), default 1 per container; scale out
# with more containers or set WEB_CONCURRENCY to about 2 x CPU cores.
CMD ["gunicorn", "config.wsgi", \
     "--bind", "0.0.0.0:8000", \
     "--worker-tmp-dir", "/dev/shm", \
     "--timeout", "60", \
     "--access-logfile", "-"]
