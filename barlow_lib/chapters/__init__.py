"""What the chapters and pages need and the library does not: chapter set-up, figures, sliders, result tables,
and the keras-io example's augmentation defects restated for comparison. Nothing here is used in training."""


def _figures_inline():
    """Figures appear under their cells in a notebook kernel even where MPLBACKEND=Agg is exported (as CI and
    many build scripts do): that setting would otherwise make every figure on a page silently disappear."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and type(shell).__name__ == "ZMQInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")


_figures_inline()
