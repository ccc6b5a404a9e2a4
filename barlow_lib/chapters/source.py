"""Show the library's own code on a page: one source, zero drift (the chapter never copies it)."""
from __future__ import annotations

import inspect


class Source:
    """Highlighted source that wraps long lines at the page's edge instead of cutting them off."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        body = highlight(self.text, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True))
        return ('<div class="bt-source" style="font-size:0.85em;background:#f5f5f5;padding:0.4em 0.8em;'
                'border-radius:4px">' + body.replace("<pre", '<pre style="white-space:pre-wrap;'
                                                     'word-break:break-word;margin:0"', 1) + "</div>")

    def __repr__(self) -> str:
        return self.text


def show(*objects) -> Source:
    """The source of functions or classes, as the library has it now."""
    return Source("\n\n".join(inspect.getsource(o) for o in objects))
