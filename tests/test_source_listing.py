"""The library's source as chapters show it: every line of it, long lines wrapping under their own indentation."""
import html
import re

from barlow_lib.chapters import source

CODE = '''def f(x):
    """A docstring."""

    if x:
        return some_function_with_a_long_name(x, another_argument_that_makes_the_line_too_long_for_any_page=1)
'''


def test_a_listing_is_one_block_per_source_line_each_hanging_past_its_own_indentation():
    page = source.Source(CODE)._repr_html_()
    blocks = re.findall(r'<span style="display:block;[^"]*padding-left:(\d+)ch;text-indent:-(\d+)ch">(.*?)</span>'
                        r'(?=<span style="display:block|</pre>)', page, flags=re.S)
    lines = CODE.splitlines()
    assert len(blocks) == len(lines)  # the blank line too: min-height keeps it a line
    for (pad, indent, body), line in zip(blocks, lines):
        assert html.unescape(re.sub(r"<[^>]+>", "", body)) == line  # the code as it is, no newline inside
        assert int(pad) == int(indent) == len(line) - len(line.lstrip(" ")) + source.HANG
    assert "white-space:pre-wrap" in page and page.count("<pre ") == 1 and page.count("style=") > len(lines)
    assert page.count('<pre style="') == 1 and 'style="line-height' not in page  # one style attribute on pre


def test_show_lists_the_library_s_current_source():
    from barlow_lib import loss

    assert source.show(loss.cross_correlation).text.startswith("def cross_correlation(")
