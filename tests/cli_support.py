"""How a test checks that a command refused: by what a person reads.

Click's test runner turns an exception escaping a command into exit status 1
with nothing printed, so an exit status alone cannot tell a refusal from a
crash; these checks also require that the command chose to stop.
"""

from __future__ import annotations

from click.testing import Result


def assert_refused(result: Result, *messages: str, exit_code: int = 1) -> None:
    """``result`` is a command that stopped on purpose with ``exit_code``,
    printing every one of ``messages`` on its standard error, and no traceback."""
    assert isinstance(result.exception, SystemExit), result.exc_info
    assert result.exit_code == exit_code, result.output
    for message in messages:
        assert message in result.stderr, result.output
    assert "Traceback" not in result.output
