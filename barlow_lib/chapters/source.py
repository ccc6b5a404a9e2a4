"""Show the library's own code on a page: one source, zero drift (the chapter never copies it)."""
from __future__ import annotations

import inspect
import re

HANG = 4  # characters a wrapped line's continuation sits right of the line's own indentation


class Source:
    """Highlighted source whose lines too long for the page wrap with a hanging indent, as a printed listing
    does: each continuation starts ``HANG`` characters right of its line's indentation, so the code's own
    indentation still reads (neither cut off at the page's edge nor wrapped back to its left margin)."""

    def __init__(self, text: str):
        self.text = text

    def _repr_html_(self) -> str:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        lines = self.text.splitlines()

        def line(match):  # one block per source line: the first row at its indentation, the rest hanging
            code = lines[int(match.group(1)) - 1]
            hang = len(code) - len(code.lstrip(" ")) + HANG
            return f'<span style="display:block;min-height:1.25em;padding-left:{hang}ch;text-indent:-{hang}ch">'

        body = highlight(self.text, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True, linespans="bt"))
        body = re.sub(r'<span id="bt-(\d+)">', line, body).replace("\n</span>", "</span>")
        return ('<div class="bt-source" style="font-size:0.85em;background:#f5f5f5;padding:0.4em 0.8em;'
                'border-radius:4px">' + body.replace('<pre style="', '<pre style="white-space:pre-wrap;'
                                                     'overflow-wrap:anywhere;margin:0;', 1) + "</div>")

    def __repr__(self) -> str:
        return self.text


def show(*objects) -> Source:
    """The source of functions or classes, as the library has it now."""
    return Source("\n\n".join(inspect.getsource(o) for o in objects))
