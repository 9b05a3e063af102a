"""One mapping from failures to the words a user sees."""

from __future__ import annotations

from app.api import AuthenticationError
from app.store import StoreWriteError
from app.ui.errors import failure_text


def test_typed_errors_speak_for_themselves_and_the_rest_get_a_plain_line() -> None:
    auth = AuthenticationError("bad key", status=401, provider="Stansa")
    assert failure_text(auth) == auth.user_message and auth.user_message
    assert failure_text(StoreWriteError("disk full")).startswith("The history could not")
    assert failure_text(ValueError("boom")) == "Something went wrong: boom"
