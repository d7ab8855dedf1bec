"""Issue a bearer token for one service, signed with that service's own settings:

    python -m lendkit.dev_tokens ledger --role ops
    python -m lendkit.dev_tokens overdue --role borrower --borrower B-1001

The token is signed with the service's ``*_JWT_SECRET`` (the development secret when
``*_DEVELOPMENT_MODE=true``, as ``scripts/up.sh`` runs it) for the service's audience, so
it is accepted by that service only. In production, tokens come from your identity
provider; this command refuses the development secret outside development mode.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from lendkit.auth import InsecureJwtSecret, Role, TokenCodec

SERVICES = ("ledger", "overdue", "notifier", "restructure", "console")

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


@app.command()
def issue(
    service: Annotated[str, typer.Argument(help=f"one of: {', '.join(SERVICES)}")],
    role: Annotated[list[Role], typer.Option("--role", help="repeat for several roles")],
    subject: Annotated[str | None, typer.Option(help="the token's subject")] = None,
    borrower: Annotated[
        str | None, typer.Option(help="the borrower id (borrower role: own data only)")
    ] = None,
    ttl: Annotated[int, typer.Option(help="seconds until it expires", min=60)] = 3600,
) -> None:
    """Print a token for SERVICE with the given roles."""
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    settings = importlib.import_module(f"{service}.settings").Settings()
    who = subject or borrower or f"{'-'.join(sorted(r.value for r in role))}-cli"
    try:
        codec = TokenCodec(settings)
    except InsecureJwtSecret as exc:
        typer.echo(f"{service}: {exc}", err=True)
        raise typer.Exit(2) from exc
    token = codec.issue(who, role, borrower_id=borrower, ttl_seconds=ttl)
    typer.echo(token)


if __name__ == "__main__":
    app()
