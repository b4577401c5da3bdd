"""ui.literal's markdown source (how it renders is checked in Chromium: tests/e2e/test_literal_browser.py)."""

from ui.literal import code, escape


def test_code_spans_hold_any_text():
    assert code("cos(pi*t/2)") == "`cos(pi*t/2)`"
    assert code("a `b` c") == "``a `b` c``"  # a longer fence than any run inside
    assert code("`x") == "`` `x ``" and code("") == "` `"
    assert code("two\nlines") == "`two lines`"  # a newline would start a new block


def test_escape_marks_only_what_markdown_reads():
    assert escape("__import__") == r"\_\_import\_\_"
    assert escape("a*b [c](d) $x$ <b> ~s~ a|b &amp;") == r"a\*b \[c\](d) \$x\$ \<b\> \~s\~ a\|b \&amp;"
    assert escape(":smile: :material/home:") == r"\:smile\: \:material\/home\:"
    assert escape("# h") == r"\# h" and escape("1. item") == r"1\. item" and escape("- d") == r"\- d"
    assert escape("0.5, 1-t and words") == "0.5, 1-t and words"  # readable where nothing is at stake
