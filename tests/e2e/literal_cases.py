"""User text that markdown, LaTeX, Streamlit directives, short codes or HTML would change."""

CASES = [
    "cos(pi*t/2)", "__import__('os')", "**bold** _it_", "a*b*c", "$x^2$ and $y$",
    ":red[alarm] :smile: :material/home:", "<b>html</b> &amp; &lt;", "[link](http://x.y) ![img](a.png)",
    "# heading", "1. item", "12) item", "- dash", "+ plus", "> quote", "= setext", "a | b | c",
    "`tick` and ``two``", "` lead", "trail `", "\\backslash\\n", "~~strike~~", "t**2 + 1-t", "x\ny",
    "50% @home; a,b?c/d", "sqrt(t*(1-t))", "{curly} =eq ^up", "image: my_pic (1).png", "a:b:c",
]
