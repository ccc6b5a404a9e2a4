"""Encoders (ResNets with the ImageNet or the CIFAR stem), the projector, and the twin.

The backbone and the projector are separate Keras models: pretraining uses
both, evaluation uses the backbone alone.
"""
from __future__ import annotations

from . import augment, distribute, hardware
from .batchnorm import BatchNormalization
from .backends import keras, ops
from .loss import barlow_twins_loss, vicreg_loss
from .optimizer import make_optimizer
from .recipes import STAGE_BLOCKS, ModelSpec

layers = keras.layers


def _conv(filters, kernel, stride, name, spec, dtype):
    return layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=spec.conv_bias, name=name,
                         dtype=dtype)


def _bn(name, spec, dtype, sync_bn):
    return BatchNormalization(momentum=spec.bn_momentum, synchronized=sync_bn, name=name, dtype=dtype)


def _basic_block(x, filters, stride, name, *, spec, dtype, sync_bn):
    """Two 3x3 convolutions and a shortcut (1x1 projection when the shape changes)."""
    bn = lambda n: _bn(f"{name}_{n}", spec, dtype, sync_bn)  # noqa: E731
    shortcut = x
    y = _conv(filters, 3, stride, f"{name}_conv1", spec, dtype)(x)
    y = layers.Activation("relu", name=f"{name}_relu1", dtype=dtype)(bn("bn1")(y))
    y = bn("bn2")(_conv(filters, 3, 1, f"{name}_conv2", spec, dtype)(y))
    if stride != 1 or x.shape[-1] != filters:
        if stride != 1:  # subsample, then a 1x1 conv: the strided 1x1 conv itself, identical in value, crashes
            # TensorFlow 2.21's oneDNN backward pass for some shapes (48 and 64 px images, 8 -> 16 channels)
            shortcut = layers.AveragePooling2D(1, strides=stride, padding="same", name=f"{name}_subsample",
                                               dtype=dtype)(shortcut)
        shortcut = _conv(filters, 1, 1, f"{name}_proj", spec, dtype)(shortcut)
        if spec.shortcut_bn:
            shortcut = bn("proj_bn")(shortcut)
    y = layers.Add(name=f"{name}_add", dtype=dtype)([y, shortcut])
    return layers.Activation("relu", name=f"{name}_out", dtype=dtype)(y)


def _dtype(spec):
    """The layers' dtype policy for a spec: mixed bfloat16 or float16, or None (Keras' float32)."""
    policy = hardware.resolve_precision(spec.precision)
    return policy if policy.startswith("mixed_") else None


def build_backbone(spec: ModelSpec, image_size: int | None = 32, *, sync_bn: bool = False,
                   name: str = "backbone") -> keras.Model:
    """The ResNet encoder a ``ModelSpec`` describes, mapping (S, S, 3) images in [0, 1] to a feature vector.

    ``stem="imagenet"`` is the keras-io network exactly (with its quirks ``conv_bias=True``,
    ``shortcut_bn=False``, ``bn_momentum=0.99``): zero-pad 3, 7x7/2 conv, 3x3/2 max-pool, then 2x2
    average pool and flatten (512 features at 32 px). ``stem="cifar"`` is the stem every strong CIFAR
    result uses: 3x3 conv, no max-pool, global average pool; ``stem_stride=2`` halves its resolution.
    ``image_size=None``: any side (the CIFAR stem only).
    """
    if spec.depth not in STAGE_BLOCKS:
        raise ValueError(f"depth must be one of {sorted(STAGE_BLOCKS)}, got {spec.depth}")
    if spec.stem not in ("imagenet", "cifar"):
        raise ValueError(f"stem must be 'imagenet' or 'cifar', got {spec.stem!r}")
    dtype = _dtype(spec)
    inputs = keras.Input((image_size, image_size, 3), name="images")
    if spec.stem == "imagenet":
        x = layers.ZeroPadding2D(3, name="stem_pad", dtype=dtype)(inputs)
        x = _conv(spec.width, 7, 2, "stem_conv", spec, dtype)(x)
    else:
        x = _conv(spec.width, 3, spec.stem_stride, "stem_conv", spec, dtype)(inputs)
    x = layers.Activation("relu", name="stem_relu", dtype=dtype)(_bn("stem_bn", spec, dtype, sync_bn)(x))
    if spec.stem == "imagenet":
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool", dtype=dtype)(x)
    for stage, blocks in enumerate(STAGE_BLOCKS[spec.depth], start=1):
        filters = spec.width * 2 ** (stage - 1)
        for block in range(blocks):
            stride = 2 if stage > 1 and block == 0 else 1
            x = _basic_block(x, filters, stride, f"stage{stage}_block{block + 1}", spec=spec, dtype=dtype,
                             sync_bn=sync_bn)
    if spec.stem == "imagenet":
        x = layers.AveragePooling2D(2, padding="same", name="pool", dtype=dtype)(x)
        x = layers.Flatten(name="features", dtype=dtype)(x)
    else:
        x = layers.GlobalAveragePooling2D(name="features", dtype=dtype)(x)
    return keras.Model(inputs, x, name=name)


def build_projector(input_dim: int, spec: ModelSpec, *, sync_bn: bool = False, name: str = "projector") -> keras.Model:
    """MLP: (Dense - BN - ReLU) for every width of ``spec.projector`` but the last, then a plain Dense
    (no BN when ``spec.projector_bn`` is off)."""
    dtype = _dtype(spec)
    inputs = keras.Input((input_dim,), name="features")
    x = inputs
    for i, d in enumerate(spec.projector):
        x = layers.Dense(d, use_bias=spec.projector_bias, name=f"dense_{i}", dtype=dtype)(x)
        if i < len(spec.projector) - 1:
            if spec.projector_bn:
                x = _bn(f"bn_{i}", spec, dtype, sync_bn)(x)
            x = layers.Activation("relu", name=f"relu_{i}", dtype=dtype)(x)
    return keras.Model(inputs, x, name=name)


class BarlowTwins(keras.Model):
    """Takes {"images", "noise"}, makes two views on the device (and, with ``small_crops``, that many small views
    made with ``small_augment`` from the further noise columns: multi-crop), returns z of shape (batch, views, D)."""

    def __init__(self, backbone, projector, augment_config: augment.AugmentConfig, lambd: float,
                 loss: str = "barlow_twins", small_augment: augment.AugmentConfig | None = None,
                 small_crops: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.backbone, self.projector = backbone, projector
        self.augment_config, self.lambd, self.loss_name = augment_config, lambd, loss
        self.two_views = augment.compiled_two_views(augment_config)
        self.views = 2 + small_crops  # known here: shapes inside a distributed step are not static
        self.small_view = small_crops and augment.compiled_augment(small_augment)

    def use_view_size(self, side: int):
        """Make views of ``side`` px from the next step on (progressive resizing; the step is traced again)."""
        if side != self.augment_config.view_size:
            self.augment_config = self.augment_config.replace(output_size=side)
            self.two_views = augment.compiled_two_views(self.augment_config)
            self.train_function = None

    def embed(self, views, training=False):
        return self.projector(self.backbone(views, training=training), training=training)

    def call(self, inputs, training=False):
        view_a, view_b = self.two_views(inputs["images"], inputs["noise"])
        z = [self.embed(view_a, training), self.embed(view_b, training)]
        for k in range(2, self.views):  # multi-crop: the noise's further columns make the small views
            z.append(self.embed(self.small_view(inputs["images"], inputs["noise"][:, k]), training))
        return ops.stack(z, axis=1)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        z = distribute.gather(y_pred)  # the global batch, on every replica

        def loss(z_a, z_b):
            return vicreg_loss(z_a, z_b) if self.loss_name == "vicreg" else barlow_twins_loss(z_a, z_b, self.lambd)

        # the two views with each other; with multi-crop, also each small view with each of the two
        pairs = [(0, 1)] + [(v, k) for k in range(2, self.views) for v in (0, 1)]
        return distribute.scale_loss(sum(loss(z[:, i], z[:, j]) for i, j in pairs) / len(pairs))


def at_size(backbone: keras.Model, spec: ModelSpec, image_size: int) -> keras.Model:
    """``backbone`` for ``image_size`` px inputs: itself, or a copy sharing its weights' values.

    A recipe may train on views smaller than the images (``AugmentConfig.output_size``); the
    CIFAR-stem network ends in a global average pool, so the same weights then serve full-size images.
    """
    if backbone.input.shape[1] == image_size:
        return backbone
    resized = build_backbone(spec, image_size)
    resized.set_weights(backbone.get_weights())
    return resized


def grid_weights(side: int, grid: int):
    """(grid, side) averaging weights: cell i averages rows floor(i * side / grid) to ceil((i + 1) * side / grid),
    PyTorch's adaptive average pool. A grid that divides the side gives equal, disjoint windows; one that does
    not gives windows that overlap by a row (a side of 6 in 4 cells: rows 0-1, 1-2, 3-4, 4-5)."""
    import numpy as np

    w = np.zeros((grid, side), "float32")
    for i in range(grid):
        start, end = i * side // grid, -(-(i + 1) * side // grid)
        w[i, start:end] = 1.0 / (end - start)
    return w


@keras.saving.register_keras_serializable(package="barlow_lib")
class GridAverage(layers.Layer):
    """A (batch, side, side, channels) map averaged over a grid x grid grid of windows (``grid_weights``)."""

    def __init__(self, grid: int, **kwargs):
        super().__init__(**kwargs)
        self.grid = grid

    def call(self, x):
        rows = ops.convert_to_tensor(grid_weights(x.shape[1], self.grid), dtype=x.dtype)
        cols = ops.convert_to_tensor(grid_weights(x.shape[2], self.grid), dtype=x.dtype)
        return ops.einsum("bhwc,ih,jw->bijc", x, rows, cols)

    def compute_output_shape(self, shape):
        return (shape[0], self.grid, self.grid, shape[3])

    def get_config(self):
        return {**super().get_config(), "grid": self.grid}


def probed(backbone: keras.Model, spec: ModelSpec) -> keras.Model:
    """The network whose output kNN and the linear probe read: ``backbone`` itself, or (``spec.probe_grid``
    above 1) its last stage's map averaged over a probe_grid x probe_grid grid and flattened, the same
    weights (at 32 px, the ``cpu`` ResNet-10's 4x4 map of 128 channels gives 2,048 features with a grid of 4,
    512 with a grid of 2, the shape of the keras-io network's own features). ``spec.probe_stages`` other than
    the last: each of those stages' maps averaged over the same grid, their features side by side (the
    ``cpu`` network's third stage adds 64 channels x 16 cells). Images of another size give maps of another
    side: a grid that does not divide one averages overlapping windows (``grid_weights``), so the features
    keep their number.
    """
    grid, dtype = spec.probe_grid, _dtype(spec)
    if grid == 1 and spec.probe_stages == (4,):
        return backbone
    parts = []
    for stage in spec.probe_stages:
        the_map = backbone.get_layer(f"stage{stage}_block{STAGE_BLOCKS[spec.depth][stage - 1]}_out").output
        side = the_map.shape[1]
        if side is None:
            raise ValueError("a probe grid needs maps of known side (build the backbone for the images' size: "
                             "at_size)")
        suffix = "" if len(spec.probe_stages) == 1 else f"_stage{stage}"
        pool = (layers.AveragePooling2D(side // grid, name=f"probe_pool{suffix}", dtype=dtype) if side % grid == 0
                else GridAverage(grid, name=f"probe_pool{suffix}", dtype=dtype))
        parts.append(layers.Flatten(name=f"probed_features{suffix}", dtype=dtype)(pool(the_map)))
    x = parts[0] if len(parts) == 1 else layers.Concatenate(name="probed_features", dtype=dtype)(parts)
    return keras.Model(backbone.input, x, name=f"{backbone.name}_probed")


def build_twin(recipe, *, sync_bn: bool = False, steps_per_epoch: int | None = None) -> BarlowTwins:
    """The twin a recipe describes, built (weights created); compiled with the recipe's optimizer and XLA
    setting when ``steps_per_epoch`` is given (the learning-rate schedule needs it).

    Its backbone takes the augmented views (``recipe.augment.view_size`` px).
    """
    spec, aug = recipe.model, recipe.augment
    if spec.stem == "imagenet" and aug.view_size != aug.image_size:
        raise ValueError("output_size needs the CIFAR stem (the keras-io network flattens a fixed-size map)")
    # A view schedule or multi-crop feeds the backbone views of several sides: only the CIFAR stem's global
    # pool takes them.
    several = recipe.view_schedule or recipe.small_crops
    backbone = build_backbone(spec, None if several else aug.view_size, sync_bn=sync_bn)
    projector = build_projector(backbone.output.shape[-1], spec, sync_bn=sync_bn)
    twin = BarlowTwins(backbone, projector, aug, recipe.lambd, loss=recipe.loss, name="barlow_twins",
                       small_augment=recipe.small_augment, small_crops=recipe.small_crops)
    twin({"images": ops.zeros((2, aug.image_size, aug.image_size, 3)),
          "noise": ops.zeros((2, recipe.views, augment.N_NOISE))})
    if steps_per_epoch is not None:
        optimizer = make_optimizer(recipe, steps_per_epoch)
        if _dtype(spec) == "mixed_float16":  # gradients too small for float16 are kept by scaling the loss
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        optimizer.build(twin.trainable_variables)
        twin.compile(optimizer=optimizer, jit_compile=hardware.resolve_jit(recipe.jit_compile))
    return twin


def forward_flops(model: keras.Model) -> int:
    """Multiply-adds x 2 of the convolutions and dense layers for one image."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        elif isinstance(layer, layers.Conv2D):
            _, h, w, cout = layer.output.shape
            kh, kw = layer.kernel_size
            total += 2 * h * w * kh * kw * layer.input.shape[-1] * cout
        elif isinstance(layer, layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def pair_flops(backbone: keras.Model, projector: keras.Model | None = None) -> int:
    """FLOPs of one training pair: two views, each through the backbone (and the projector, where given)
    forward once and backward at twice the forward's cost."""
    return 3 * 2 * (forward_flops(backbone) + (0 if projector is None else forward_flops(projector)))


def stage_shapes(backbone: keras.Model) -> dict:
    """Feature-map shape after the stem and after each stage, for one image."""
    shapes = {"input": tuple(backbone.input.shape[1:])}
    for layer in backbone.layers:
        if layer.name in ("stem_pool", "stem_relu") or layer.name.endswith("_out"):
            key = "stem" if layer.name.startswith("stem") else layer.name.split("_")[0]
            shapes[key] = tuple(layer.output.shape[1:])
    return shapes
