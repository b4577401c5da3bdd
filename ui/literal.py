"""User text printed literally in Streamlit's markdown (captions, warnings, errors, info, success).

Streamlit renders those strings as markdown (GitHub flavour plus LaTeX between `$`, `:color[...]`
directives and `:emoji:` short codes), so a formula such as ``cos(pi*t/2)`` loses its asterisks
(cos(pit/2)) and ``__import__`` turns bold. Everything a user typed, uploaded or put in a link
goes through one of these two before it reaches markdown:

- `code(text)`: a code span (monospace, nothing inside is interpreted): formulas, file names,
  URL values.
- `escape(text)`: plain text with every markdown character escaped: labels inside a sentence.

Both fold line breaks into spaces (a newline would start a new markdown block).
"""

from __future__ import annotations

import re

_INLINE = re.compile(r"([\\`*_\[\]<>~$|&:/])")
"""What means something anywhere in a line: emphasis, code, links, HTML and entities, strike-through,
LaTeX, tables, and colons (Streamlit reads :name as a directive and :smile: as an emoji; checked in
Chromium: only escaping every colon stops both, and :material/icon: needs its slash escaped too)."""
_BLOCK_START = re.compile(r"^(\s*)(>|[#+\-=](?=[\s\-=#]|$)|\d+(?=[.)](?:\s|$)))")
"""What starts a heading, quote, list or rule at the start of a line (a digit run before . or )."""


_ICON = re.compile(r":material/")


def _one_line(text) -> str:
    return " ".join(str(text).splitlines()) if text is not None else ""


def escape(text) -> str:
    """`text` with a backslash before every character that markdown, LaTeX (`$`), Streamlit's
    directives and short codes (`:`) or HTML could read, and before what would start a block at
    its beginning (#, >, -, +, "1."); it renders exactly as typed. Words, digits, commas and full
    stops are left alone, so the markdown source stays readable."""
    s = _INLINE.sub(r"\\\1", _one_line(text))
    m = _BLOCK_START.match(s)
    if m and m.group(2).isdigit():  # "1. item": escape the dot or parenthesis after the number
        end = m.end()
        return s[:end] + "\\" + s[end:]
    return _BLOCK_START.sub(r"\1\\\2", s, count=1)


def code(text) -> str:
    """`text` as an inline code span, fenced by more backticks than it contains in a row (padded
    with a space where it starts or ends with one), so it renders exactly as typed, monospace."""
    s = _one_line(text)
    if not s:
        return "` `"
    if _ICON.search(s):  # Streamlit rewrites :material/name: even inside code (to :material_name:)
        return escape(s)
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ")) else ""
    return f"{fence}{pad}{s}{pad}{fence}"
