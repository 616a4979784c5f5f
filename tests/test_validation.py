"""Reading a request's fields: what counts as a control character."""

from __future__ import annotations

import sys
import unicodedata

from service.validation import has_controls


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cs")


def test_every_control_and_surrogate_code_point_is_refused_and_nothing_else():
    wrong = [hex(cp) for cp in range(sys.maxunicode + 1) if has_controls(chr(cp)) != _is_control(chr(cp))]
    assert wrong == []


def test_a_multiline_text_may_hold_tabs_and_line_breaks_only():
    allowed = [hex(cp) for cp in range(sys.maxunicode + 1)
               if _is_control(chr(cp)) and not has_controls(chr(cp), multiline=True)]
    assert allowed == ["0x9", "0xa", "0xd"]


def test_a_control_character_anywhere_in_a_long_text_is_found():
    assert has_controls("« Bonjour » — l’article 😀" * 100 + "\x00" + "fin", multiline=True)
    assert not has_controls("« Bonjour » — l’article 😀\n\tsuite\r\n", multiline=True)
