# Production image of one service; the same recipe for all four and the console
# (SERVICE=console: templates and vendored scripts ship as package data; no migrations).
# Build context: the repository root.
#   docker build -f deploy/service.Dockerfile --build-arg SERVICE=ledger -t overdue-platform/ledger .
FROM python:3.11-slim
ARG SERVICE
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 SERVICE=${SERVICE}
RUN test -n "$SERVICE" && useradd --system --uid 10001 app
WORKDIR /app
COPY shared/ shared/
COPY services/${SERVICE}/ services/${SERVICE}/
RUN pip install --no-cache-dir ./shared ./services/${SERVICE}
USER app
# Migrations run as a one-off job before the rollout: python -m lendkit.migrations $SERVICE
# (the four services; the console has no database)
CMD ["sh", "-c", "exec python -m \"$SERVICE\""]
