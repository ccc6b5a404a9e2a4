"""Diagrams drawn by code (so they never drift from what the library does): the method, a residual block."""
from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch


def _box(ax, xy, text, colour, w=1.6, h=0.7, fontsize=9):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05", fc=colour, ec="0.3"))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, a, b, text="", style="-|>", colour="0.25"):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle=style, mutation_scale=12, color=colour, lw=1.2))
    if text:
        ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.18, text, ha="center", fontsize=8, color="0.2")


def method():
    """Barlow Twins: one batch, two views, one shared network, the cross-correlation matrix and its loss."""
    fig, ax = plt.subplots(figsize=(11, 3.6))
    ax.set(xlim=(-0.2, 13.0), ylim=(-0.5, 3.3))
    ax.axis("off")
    _box(ax, (0.7, 1.5), "batch of\nN images", "#eeeeee", w=1.2, h=1.0)
    for y, tag in ((2.6, "A"), (0.4, "B")):
        _box(ax, (2.6, y), f"view {tag}\n(random crop,\ncolour, blur, ...)", "#fde7c8", w=1.7, h=0.95, fontsize=8)
        _box(ax, (4.7, y), "backbone f\n(ResNet)", "#cfe3f7")
        _box(ax, (6.7, y), "projector g\n(MLP)", "#d9ead3")
        _box(ax, (8.6, y), f"z{tag}: N x D\nstandardised\nper feature", "#f4cccc", w=1.6, h=0.95, fontsize=8)
        _arrow(ax, (1.3, 1.5), (1.75, y))
        _arrow(ax, (3.45, y), (3.9, y))
        _arrow(ax, (5.5, y), (5.9, y), "h")
        _arrow(ax, (7.5, y), (7.8, y))
        _arrow(ax, (9.4, y), (10.1, 1.5 + (0.25 if tag == "A" else -0.25)))
    ax.text(4.7, 1.5, "same weights", ha="center", fontsize=8, style="italic", color="0.3")
    ax.text(6.7, 1.5, "same weights", ha="center", fontsize=8, style="italic", color="0.3")
    _box(ax, (10.9, 1.5), "C = zA\u1d40 zB / N\n(D x D)", "#ead1dc", w=1.5, h=0.9)
    _arrow(ax, (11.65, 1.5), (11.95, 1.5))
    ax.text(12.3, 1.5, "loss:\nC \u2192 I", ha="center", va="center", fontsize=9, fontweight="bold")
    ax.text(4.7, -0.35, "after pretraining, f's features h are the representation (evaluation probes h)", fontsize=8,
            ha="center", color="0.25")
    fig.tight_layout()
    return fig


def residual_block():
    """A basic residual block: two 3x3 convolutions plus a shortcut (a 1x1 projection when the shape changes)."""
    fig, ax = plt.subplots(figsize=(8.5, 2.6))
    ax.set(xlim=(0, 11.5), ylim=(0, 2.6))
    ax.axis("off")
    _box(ax, (0.8, 1.6), "x", "#eeeeee", w=0.9)
    steps = [("3x3 conv\n(stride s)", "#cfe3f7"), ("BN, ReLU", "#d9ead3"), ("3x3 conv", "#cfe3f7"), ("BN", "#d9ead3")]
    for i, (text, colour) in enumerate(steps):
        _box(ax, (2.4 + 1.75 * i, 1.6), text, colour, w=1.45, fontsize=8)
        _arrow(ax, (0.8 + 0.45 if i == 0 else 2.4 + 1.75 * (i - 1) + 0.72, 1.6), (2.4 + 1.75 * i - 0.72, 1.6))
    _box(ax, (9.6, 1.6), "+  then ReLU", "#f4cccc", w=1.4, fontsize=8)
    _arrow(ax, (7.65 + 0.72, 1.6), (8.9, 1.6))
    _arrow(ax, (10.3, 1.6), (11.2, 1.6))
    _box(ax, (5.0, 0.45), "shortcut: identity, or 1x1 conv + BN when the stride or width changes", "#fff2cc",
         w=6.4, h=0.5, fontsize=8)
    _arrow(ax, (0.8, 1.25), (1.8, 0.45), style="-")
    _arrow(ax, (8.2, 0.45), (9.6, 1.25))
    fig.tight_layout()
    return fig
