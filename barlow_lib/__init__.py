"""barlow_lib: the library behind the Barlow Twins book. One concern per module, grouped by role:

The method
    ``loss`` (the Barlow Twins loss, one screen), ``augment`` (the two views), ``models`` (encoders,
    projector, the twin and its train step), ``optimizer`` (LAMB, warmup, cosine), ``recipes`` (named
    configurations), ``train`` (resumable pretraining), ``steps`` (an epoch's steps queued without a
    host round trip each), ``evaluate`` (kNN, linear probe),
    ``supervised`` (the same network trained on labels), ``diagnostics`` (what training does to the
    embedding), ``distribute`` (global-batch statistics on several devices).
Data
    ``data`` (every source behind ``load``), ``images`` (image files to arrays), ``sample`` (the shipped
    CIFAR-10 sample), ``synthetic`` (generated shapes for tests).
The run folder
    ``runs`` (its one owner), ``checkpoint``, ``lock``, ``files`` (writes that survive kills and full
    disks), ``records`` (what a finished run leaves for the book), ``provenance`` (where a number came from).
Tools
    ``cli`` (``barlow-twins``), ``errors`` (error and fix), ``backends`` (TensorFlow or JAX),
    ``hardware`` (precision and XLA per machine), ``seeds``, ``tables``.
``barlow_lib.chapters``: what only the book's chapters and pages use (set-up, figures, sliders, tables).
"""
__version__ = "0.1.0"
