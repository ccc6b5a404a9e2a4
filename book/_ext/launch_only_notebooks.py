"""Launch buttons (Colab) only on pages Colab can open: the .ipynb chapters, not MyST Markdown pages."""


def _drop_launch_buttons(app, pagename, templatename, context, doctree):
    source = context.get("sourcename") or ""
    if source.endswith((".md", ".md.txt")) and "header_buttons" in context:
        context["header_buttons"] = [b for b in context["header_buttons"] if b.get("label") != "launch-buttons"]


def setup(app):
    app.connect("html-page-context", _drop_launch_buttons, priority=502)  # after the theme adds them (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
