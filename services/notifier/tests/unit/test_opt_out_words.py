"""Inbound opt-out words: any case, surrounding text allowed, no false hits inside words."""

import pytest

from notifier.domain.opt_out import is_opt_out

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "Please STOP texting me",
        "quit",
        "End.",
        "revoke",
        "opt out",
        "OPT-OUT",
        "cancel please",
        "Unsubscribe",
        "退订",
        "请退订谢谢",
        "TD",
        "回复td",
        "td",
    ],
)
def test_opt_out_words(text: str) -> None:
    assert is_opt_out(text)


@pytest.mark.parametrize(
    "text", ["hello", "I will pay tomorrow", "stopped", "weekend", "standard", "好的"]
)
def test_ordinary_messages_are_not_opt_outs(text: str) -> None:
    assert not is_opt_out(text)
