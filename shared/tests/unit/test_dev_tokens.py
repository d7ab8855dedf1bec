"""``python -m lendkit.dev_tokens``: a token one service accepts, and only that service."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ledger.settings import Settings as LedgerSettings
from lendkit.auth import Role, TokenCodec
from lendkit.dev_tokens import app
from lendkit.problems import ProblemError
from overdue.settings import Settings as OverdueSettings


def test_a_borrower_token_for_the_ledger_is_the_ledgers_and_carries_the_borrower(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_DEVELOPMENT_MODE", "true")
    monkeypatch.setenv("OVERDUE_DEVELOPMENT_MODE", "true")
    done = CliRunner().invoke(app, ["ledger", "--role", "borrower", "--borrower", "B-7"])
    assert done.exit_code == 0, done.output
    token = done.output.strip()

    principal = TokenCodec(LedgerSettings()).decode(token)
    assert principal.roles == {Role.BORROWER}
    assert principal.borrower_id == "B-7"
    with pytest.raises(ProblemError):  # another service's audience
        TokenCodec(OverdueSettings()).decode(token)


def test_no_token_is_signed_with_the_development_secret_outside_development_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LEDGER_DEVELOPMENT_MODE", "false")
    monkeypatch.delenv("LEDGER_JWT_SECRET", raising=False)
    done = CliRunner().invoke(app, ["ledger", "--role", "ops"])
    assert done.exit_code == 2
    assert "development" in done.output
