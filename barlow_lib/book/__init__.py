"""What the book's pages need and the library does not: chapter set-up, figures, sliders, result tables,
and the keras-io example's augmentation defects restated for comparison. Nothing here is used in training."""
