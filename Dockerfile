# Leedz API image: `docker build -t leedz-api .`
#
# Two stages: the builder resolves the locked dependencies into a virtual environment with uv; the
# runtime stage copies only that environment and the migration scripts, and runs as a non-root user.
# Needs BuildKit (the default builder of current Docker engines, Render and Railway) for the cache
# mount. Everything is fetched from PyPI: uv itself comes from its PyPI package.

############################
# builder
############################
FROM python:3.12-slim AS builder

# The uv release that wrote uv.lock; a newer one reads it too.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

# UV_COMPILE_BYTECODE: ship .pyc files, the runtime user cannot write them.
# UV_LINK_MODE=copy: the cache mount is another filesystem, hard links would fail.
# UV_PYTHON_DOWNLOADS=never: use this image's interpreter, never download one.
# UV_PROJECT_ENVIRONMENT: the venv lands where the runtime stage expects it.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python3.12 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

WORKDIR /app

# Dependencies first, from the lock alone: this layer is reused until pyproject.toml or uv.lock
# changes. (On Railway, whose builder wants cache ids of the form `s/<service id>-<path>`, see
# docs/deploy.md.)
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,id=leedz-uv,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable --no-install-project

# Then the project itself, installed as a regular (non-editable) package into the same venv.
COPY README.md alembic.ini ./
COPY src/ src/
COPY migrations/ migrations/
RUN --mount=type=cache,id=leedz-uv,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-editable

############################
# runtime
############################
FROM python:3.12-slim AS runtime

RUN groupadd --system --gid 10001 leedz \
    && useradd --system --uid 10001 --gid leedz --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin leedz

WORKDIR /app

# Owned by root and read-only for the app user: the process cannot rewrite its own code.
COPY --from=builder /app/.venv /app/.venv
# `leedz db ...` finds the Alembic scripts in the working directory.
COPY --from=builder /app/migrations /app/migrations
COPY --from=builder /app/alembic.ini /app/alembic.ini

ENV PATH=/app/.venv/bin:$PATH \
    LEEDZ_ENV=production \
    LEEDZ_HOST=0.0.0.0 \
    LEEDZ_PORT=8000 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

USER leedz

EXPOSE 8000

# Liveness only (/healthz); platforms gate traffic on /readyz themselves.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LEEDZ_PORT', '8000'), timeout=4)"]

# Release step, NOT part of CMD: run `leedz db upgrade` (then `leedz db seed`) once per release,
# before the new version starts, e.g. as the platform's pre-deploy command or the compose
# `migrate` service. With several instances, migrating at every start would race; a failed
# migration must stop the release while the old version keeps serving.
CMD ["leedz", "serve"]
