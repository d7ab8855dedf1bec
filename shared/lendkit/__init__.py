"""lendkit: what every service of the overdue platform shares, written once.

settings     pydantic-settings base with one env prefix per service
logging      structlog JSON logs carrying request id / event id
db           async SQLAlchemy engine, sessions and the unit of work
tables       the kit's own tables (outbox, processed events, idempotency keys)
migrations   Alembic helpers every service's migrations call
events       CloudEvents 1.0 binary-mode envelope and the event catalogue
outbox       transactional outbox writer and relay
consumer     idempotent consumer runner with retries and dead letters
dead_letters dead-letter topic naming, headers and replay
auth         JWT bearer auth with roles
problems     RFC 9457 problem+json errors
health       /healthz and /readyz
metrics      Prometheus metrics and /metrics
idempotency  Idempotency-Key handling for POSTs that move money or state
pagination   opaque cursors
app          the FastAPI application factory wiring the above together
"""
