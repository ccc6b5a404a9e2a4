"""barlow_lib: the library behind the Barlow Twins book.

One concern per module: ``data`` (sources), ``augment`` (views), ``loss``,
``models`` (encoders, projector, twin), ``recipes`` (configurations),
``train`` (resumable pretraining), ``evaluate`` (kNN, linear probe),
``distribute`` (global-batch statistics on several devices), ``runs`` (the run
directory), ``plotting`` and ``viewer`` (the book's figures and sliders).
"""
__version__ = "0.1.0"
