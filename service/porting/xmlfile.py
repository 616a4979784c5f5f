"""Reading untrusted XML exports safely and in constant memory.

defusedxml refuses entity declarations (the "billion laughs") and external
references (XXE) outright; expat's own errors (a truncated file, bytes that
are not UTF-8) are turned into a sentence that says what is wrong and where.
Elements are handed over one at a time and dropped once handled, so a
200 MB export does not become 2 GB of Python objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree

from .source import ImportFileError

if TYPE_CHECKING:
    from _typeshed import SupportsRead

_TRUNCATED = {3, 5, 6, 20}  # expat: no element found, unclosed token, partial character, unclosed CDATA
_INVALID_TOKEN = 4


def local(tag: str) -> str:
    """``{namespace}name`` without its namespace."""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    """The namespace URI of ``{namespace}name`` ('' if none)."""
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def elements(stream: SupportsRead[bytes], depth: int, check_root: Callable[[Element], None]) -> Iterator[Element]:
    """Yield every element that closes ``depth`` levels below the root.

    ``check_root`` sees the root element as soon as it opens and raises
    :class:`ImportFileError` if this is not the expected kind of document,
    so a wrong file is refused before it is read to the end.
    """
    stack: list[Element] = []
    try:
        for event, elem in defusedxml.ElementTree.iterparse(stream, events=("start", "end")):
            if event == "start":
                if not stack:
                    check_root(elem)
                stack.append(elem)
                continue
            stack.pop()
            if len(stack) == depth:
                yield elem
                # Handled: drop it and its finished siblings from the tree.
                del stack[-1][:]
    except defusedxml.EntitiesForbidden as exc:
        if getattr(exc, "sysid", None) or getattr(exc, "pubid", None):
            raise ImportFileError(
                "The file declares an external entity (it would read other files or URLs); it was refused "
                "as hostile."
            ) from exc
        raise ImportFileError(
            "The file declares XML entities, which exports never do; it was refused as potentially "
            "hostile (entity expansion)."
        ) from exc
    except defusedxml.ExternalReferenceForbidden as exc:
        raise ImportFileError(
            "The file refers to external resources (an external entity or DTD); it was refused as "
            "potentially hostile."
        ) from exc
    except defusedxml.DefusedXmlException as exc:
        raise ImportFileError(f"The file was refused as potentially hostile XML: {exc}.") from exc
    except ParseError as exc:
        raise ImportFileError(_parse_error_message(exc)) from exc
    if stack:
        raise ImportFileError("The file ends in the middle of the document: it looks truncated.")


def _parse_error_message(exc: ParseError) -> str:
    line, column = getattr(exc, "position", (0, 0))
    where = f"line {line}, column {column + 1}"
    code = getattr(exc, "code", None)
    if code in _TRUNCATED:
        if line <= 1 and column == 0:
            return "The file is empty, or is not XML."
        return f"The file ends in the middle of the document ({where}): it looks truncated."
    if code == _INVALID_TOKEN:
        return (f"The file is not well-formed XML at {where}: it may be damaged, not XML at all, "
                "or not encoded in UTF-8 as it declares.")
    reason = str(exc).split(":")[0]
    return f"The file is not well-formed XML ({reason}) at {where}."


def text_of(elem: Element | None) -> str:
    """An element's text, '' when missing."""
    if elem is None or elem.text is None:
        return ""
    return elem.text.strip()


def flag(elem: Element | None) -> bool:
    """``true``/``1`` in an element's text."""
    return text_of(elem).lower() in ("true", "1", "yes")
