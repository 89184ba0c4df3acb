"""The audit plugin's escapes undone: a backslash takes the next character; `\\\\ \\' \\n \\r \\t \\b \\f` become their
characters, any other pair is kept as written. Pure."""

from __future__ import annotations

import codecs
import re

# The fork of the plugin writes these escapes; any other backslash pair is kept as written.
_UNESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "'": "'", "\\": "\\"}
_ESCAPE_PAIR = re.compile(r"\\(.)", re.S)
# Text whose every backslash starts one of the plugin's escapes, paired left to right as a scan would.
_PLUGIN_ESCAPED = re.compile(r"[^\\]*+(?:\\[\\'nrtbf][^\\]*+)*+")

_SENTINEL = "\ue000"  # a private-use character stands in for escaped backslashes while the others are replaced


def unescape(text: str) -> str:
    """A backslash takes the next character; the plugin's escapes become their characters, others stay as written.

    When every escape is one the plugin writes (nearly always), the bytes-literal decoder does the whole job in
    one pass in C: for those seven escapes it agrees with this rule, and it differs only on escapes the plugin
    never writes (`\\x41`, `\\"`, `\\0`, `\\a`, …, unknown ones), which the check sends to the exact path below.
    """
    if "\\" not in text:
        return text
    if _PLUGIN_ESCAPED.fullmatch(text) is not None:
        try:
            return _escape_decode(text)[0].decode("utf-8")
        except UnicodeEncodeError:  # lone surrogates have no UTF-8; the exact path keeps them
            pass
    return unescape_exact(text)


_escape_decode = codecs.escape_decode  # the decoder of `b"..."` literals, in C


def unescape_exact(text: str) -> str:
    """The reference rule, for any text: chained str.replace runs in C and pairs backslashes left to right exactly
    as a scan would: `\\\\` is replaced first, so what remains after a backslash is always the escaped character.
    """
    if "\\" not in text:
        return text
    if _SENTINEL in text:
        return _ESCAPE_PAIR.sub(_unescape_pair, text)
    return (
        text.replace("\\\\", _SENTINEL)
        .replace("\\'", "'")
        .replace("\\n", "\n")
        .replace("\\r", "\r")
        .replace("\\t", "\t")
        .replace("\\b", "\b")
        .replace("\\f", "\f")
        .replace(_SENTINEL, "\\")
    )


def _unescape_pair(m: re.Match[str]) -> str:
    return _UNESCAPES.get(m.group(1), m.group(0))
