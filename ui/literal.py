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

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&\"'%@,;?/])")


def _one_line(text) -> str:
    return " ".join(str(text).splitlines()) if text is not None else ""


def escape(text) -> str:
    """`text` with every ASCII punctuation character that markdown, LaTeX (`$`), directives (`:`)
    or HTML could read escaped by a backslash; it renders exactly as typed."""
    return _SPECIAL.sub(r"\\\1", _one_line(text))


def code(text) -> str:
    """`text` as an inline code span, fenced by more backticks than it contains in a row (padded
    with a space where it starts or ends with one), so it renders exactly as typed, monospace."""
    s = _one_line(text)
    if not s:
        return "` `"
    longest = max((len(run) for run in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or (s.startswith(" ") and s.endswith(" ")) else ""
    return f"{fence}{pad}{s}{pad}{fence}"
