"""Generator and discriminator builders: plain functions returning ``nn.Module``.

Three families, each a generator/discriminator pair:

* ``mlp_generator`` / ``mlp_discriminator``: fully connected networks.
* ``conv_generator`` / ``conv_discriminator``: DCGAN-style (transposed)
  convolutions; the depth follows from the image size (28 → 7·2², 32 → 4·2³,
  64 → 4·2⁴), or the geometry is given layer by layer.
* ``fc_conv_generator`` / ``conv_pool_discriminator``: linear layers then
  transposed convolutions, and convolution + max-pool then linear layers (the
  InfoGAN MNIST networks).

Every argument is keyword-only and checked at build time. Generators map
latent vectors ``(N, latent_dim)`` to images ``(N, C, H, W)``; discriminators map
images to logits of shape ``(N,)`` (the loss owns the sigmoid). The builders need
nothing else of mnistgan, so other projects can import them on their own::

    from mnistgan.builders import conv_generator, conv_discriminator
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Literal, TypeVar

from torch import nn

from ._checks import check_int
from .conditioning import ConditionalDiscriminator, ConditionalGenerator, Conditioning
from .errors import ConfigError
from .layers import (
    ActLike,
    LatentSequential,
    NormLike,
    conv_block,
    dcgan_init,
    get_act_layer,
    linear_block,
    resolve_norm,
)

__all__ = [
    "BUILDERS",
    "ImageShape",
    "conv_discriminator",
    "conv_generator",
    "conv_pool_discriminator",
    "fc_conv_generator",
    "get_builder",
    "list_builders",
    "mlp_discriminator",
    "mlp_generator",
    "register_builder",
]

ImageShape = tuple[int, int, int]
"""Image shape as ``(channels, height, width)``."""

Init = Literal["dcgan", "default"]
_M = TypeVar("_M", bound=nn.Module)


# --------------------------------------------------------------------------- checks


def _positive_int(value: object, name: str) -> int:
    return check_int(value, name)


def _widths(value: Sequence[int], name: str) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) == 0:
        raise ConfigError(f"{name} must be a non-empty sequence of positive ints, got {value!r}")
    return tuple(_positive_int(v, f"{name}[{i}]") for i, v in enumerate(value))


def _image_shape(value: object) -> ImageShape:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        raise ConfigError(
            f"image_shape must be (channels, height, width), e.g. (1, 28, 28), got {value!r}"
        )
    c, h, w = (_positive_int(v, f"image_shape[{i}]") for i, v in enumerate(value))
    return c, h, w


def _probability(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ConfigError(f"{name} must be a float in [0, 1), got {value!r}")
    return float(value)


def _layers(norm: NormLike, act: ActLike, out_act: ActLike | None = None) -> NormLike:
    """Check norm and activation settings up front, naming the argument; return the norm."""
    get_act_layer(act, argument="act")
    if out_act is not None:
        get_act_layer(out_act, argument="out_act")
    return resolve_norm(norm)


def _add_deconv_stack(
    net: OrderedDict[str, nn.Module],
    channels: Sequence[int],
    geometry: Sequence[tuple[int, int, int]],
    *,
    norm: NormLike,
    act: ActLike,
    out_act: ActLike,
    bias: bool | None,
) -> None:
    """Append transposed-conv blocks ``block0, block1, ..., output``: ``channels[i] ->
    channels[i + 1]`` with (kernel, stride, padding) ``geometry[i]``; the last one has no
    norm and the output activation."""
    for i, (k, s, p) in enumerate(geometry):
        last = i == len(geometry) - 1
        net["output" if last else f"block{i}"] = conv_block(
            channels[i],
            channels[i + 1],
            k,
            s,
            p,
            transposed=True,
            norm="none" if last else norm,
            act=out_act if last else act,
            bias=bias,
        )


def _apply_init(net: _M, init: Init) -> _M:
    if init == "dcgan":
        net.apply(dcgan_init)
    elif init != "default":
        raise ConfigError(f"init must be 'dcgan' or 'default', got {init!r}")
    return net


def _square_side(shape: ImageShape, builder: str) -> int:
    _, h, w = shape
    if h != w:
        raise ConfigError(
            f"{builder} needs square images, got image_shape={shape!r}; "
            f"resize the data to a square size such as 28, 32 or 64"
        )
    return h


def _doublings(side: int, builder: str) -> tuple[int, int]:
    """Split an image side into ``start * 2**n`` with the largest n that keeps start >= 4."""
    n = 0
    while side % 2 ** (n + 1) == 0 and side // 2 ** (n + 1) >= 4:
        n += 1
    if n == 0:
        raise ConfigError(
            f"image_shape has a side of {side}, but {builder} derives its depth from the "
            f"side, which must be even and >= 8 (28, 32 and 64 work); pass explicit kernels, "
            f"strides and paddings for other sizes"
        )
    return side // 2**n, n


def _explicit_geometry(
    kernels: Sequence[int] | None,
    strides: Sequence[int] | None,
    paddings: Sequence[int] | None,
    layers: int,
) -> list[tuple[int, int, int]] | None:
    given = [g is not None for g in (kernels, strides, paddings)]
    if not any(given):
        return None
    if layers == 0:
        raise ConfigError(
            "explicit kernels, strides and paddings need widths as well (the channels of "
            "each layer), e.g. widths=(256, 128, 64) with four kernels for a generator"
        )
    if not all(given):
        raise ConfigError(
            "kernels, strides and paddings must be given together (one entry per layer), "
            f"got kernels={kernels!r}, strides={strides!r}, paddings={paddings!r}"
        )
    assert kernels is not None and strides is not None and paddings is not None  # for mypy
    for name, seq in (("kernels", kernels), ("strides", strides), ("paddings", paddings)):
        if len(seq) != layers:
            raise ConfigError(
                f"{name} needs one entry per layer ({layers}: len(widths) + 1 for the "
                f"generator, len(widths) for the discriminator), got {len(seq)}"
            )
    geometry = []
    for i, (k, s, p) in enumerate(zip(kernels, strides, paddings, strict=True)):
        _positive_int(k, f"kernels[{i}]")
        _positive_int(s, f"strides[{i}]")
        if isinstance(p, bool) or not isinstance(p, int) or p < 0:
            raise ConfigError(f"paddings[{i}] must be a non-negative int, got {p!r}")
        geometry.append((k, s, p))
    return geometry


def _num_classes(num_classes: int | None, embed_dim: int | None) -> tuple[int | None, int]:
    """Validate the conditioning arguments of a generator; return (classes, embed size)."""
    if num_classes is None:
        if embed_dim is not None:
            raise ConfigError("embed_dim needs num_classes; pass num_classes=10 for digits")
        return None, 0
    num_classes = _positive_int(num_classes, "num_classes")
    embed = num_classes if embed_dim is None else _positive_int(embed_dim, "embed_dim")
    return num_classes, embed


def _generator(
    net: nn.Sequential, latent_dim: int, num_classes: int | None, embed: int
) -> nn.Module:
    """The generator that takes latents ``(N, latent_dim)`` or ``(N, latent_dim, 1, 1)``."""
    if num_classes is None:
        return LatentSequential(latent_dim, OrderedDict(net._modules))
    return ConditionalGenerator(net, num_classes, embed, latent_dim=latent_dim)


def _discriminator(
    net: nn.Sequential, num_classes: int | None, conditioning: Conditioning
) -> nn.Module:
    """Wrap a discriminator for labels: everything before ``head`` becomes the body."""
    if num_classes is None:
        return net
    num_classes = _positive_int(num_classes, "num_classes")
    if conditioning not in ("projection", "acgan"):
        raise ConfigError(f"conditioning must be 'projection' or 'acgan', got {conditioning!r}")
    names = list(net._modules)
    body = nn.Sequential(OrderedDict((k, net._modules[k]) for k in names[: names.index("head")]))
    head = net._modules["head"]
    assert head is not None  # every discriminator builder names its last layer "head"
    linear = next(m for m in head.modules() if isinstance(m, nn.Linear))
    features = linear.in_features
    return ConditionalDiscriminator(body, head, features, num_classes, conditioning)


# --------------------------------------------------------------------------- MLP family


def mlp_generator(
    *,
    latent_dim: int = 100,
    image_shape: ImageShape = (1, 28, 28),
    hidden: Sequence[int] = (256, 512, 1024),
    norm: NormLike = "none",
    act: ActLike = "relu",
    out_act: ActLike = "tanh",
    init: Init = "default",
    num_classes: int | None = None,
    embed_dim: int | None = None,
) -> nn.Module:
    """Fully connected generator: latent → hidden layers → image.

    Args:
        latent_dim: Size of the latent vector.
        image_shape: Output image shape ``(C, H, W)``.
        hidden: Widths of the hidden layers, first to last.
        norm: Normalisation after each hidden linear layer.
        act: Activation of the hidden layers.
        out_act: Output activation: ``"tanh"`` (images in [-1, 1]), ``"sigmoid"``
            ([0, 1]) or ``"none"``.
        init: ``"default"`` (PyTorch's) or ``"dcgan"`` (N(0, 0.02)).

        num_classes: Condition on ``num_classes`` labels: the generator then takes
            ``(z, y)`` (:class:`~mnistgan.conditioning.ConditionalGenerator`).
        embed_dim: Size of the label embedding (default: ``num_classes``).
    Returns:
        A module mapping ``(N, latent_dim)`` to ``(N, C, H, W)``.

    Raises:
        ConfigError: If an argument is invalid.

    Example:
        >>> import torch
        >>> g = mlp_generator(latent_dim=100, hidden=(256, 512, 1024))
        >>> sum(p.numel() for p in g.parameters())
        1486352
        >>> g(torch.randn(2, 100)).shape
        torch.Size([2, 1, 28, 28])
    """
    norm = _layers(norm, act, out_act)
    latent_dim = _positive_int(latent_dim, "latent_dim")
    shape = _image_shape(image_shape)
    widths = _widths(hidden, "hidden")
    classes, embed = _num_classes(num_classes, embed_dim)
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    in_features = latent_dim + embed
    for i, width in enumerate(widths):
        layers[f"block{i}"] = linear_block(in_features, width, norm=norm, act=act)
        in_features = width
    c, h, w = shape
    layers["output"] = linear_block(in_features, c * h * w, norm="none", act=out_act)
    layers["unflatten"] = nn.Unflatten(1, shape)  # (N, C*H*W) -> (N, C, H, W)
    return _generator(_apply_init(nn.Sequential(layers), init), latent_dim, classes, embed)


def mlp_discriminator(
    *,
    image_shape: ImageShape = (1, 28, 28),
    hidden: Sequence[int] = (1024, 512, 256),
    norm: NormLike = "none",
    act: ActLike = "leaky_relu",
    dropout: float = 0.0,
    init: Init = "default",
    num_classes: int | None = None,
    conditioning: Conditioning = "projection",
) -> nn.Module:
    """Fully connected discriminator: image → hidden layers → one logit.

    Args:
        image_shape: Input image shape ``(C, H, W)``.
        hidden: Widths of the hidden layers, first to last.
        norm: Normalisation after each hidden linear layer (``"spectral"`` also
            normalises the output layer).
        act: Activation of the hidden layers.
        dropout: Dropout probability after each hidden layer.
        init: ``"default"`` (PyTorch's) or ``"dcgan"`` (N(0, 0.02)).

        num_classes: Condition on ``num_classes`` labels: the discriminator then
            takes ``(x, y)`` (:class:`~mnistgan.conditioning.ConditionalDiscriminator`).
        conditioning: ``"projection"`` (default) or ``"acgan"`` (auxiliary classifier).
    Returns:
        A module mapping ``(N, C, H, W)`` to logits ``(N,)``.

    Raises:
        ConfigError: If an argument is invalid.

    Example:
        >>> import torch
        >>> d = mlp_discriminator(hidden=(128,))
        >>> sum(p.numel() for p in d.parameters())
        100609
        >>> d(torch.rand(4, 1, 28, 28)).shape
        torch.Size([4])
    """
    norm = _layers(norm, act)
    c, h, w = _image_shape(image_shape)
    widths = _widths(hidden, "hidden")
    p = _probability(dropout, "dropout")
    layers: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
    in_features = c * h * w
    for i, width in enumerate(widths):
        block = linear_block(in_features, width, norm=norm, act=act)
        if p > 0:
            block.append(nn.Dropout(p))
        layers[f"block{i}"] = block
        in_features = width
    head_norm = "spectral" if norm == "spectral" else "none"
    layers["head"] = linear_block(in_features, 1, norm=head_norm, act=None)
    layers["logits"] = nn.Flatten(0)  # (N, 1) -> (N,)
    return _discriminator(_apply_init(nn.Sequential(layers), init), num_classes, conditioning)


# --------------------------------------------------------------------------- conv family


def conv_generator(
    *,
    latent_dim: int = 100,
    image_shape: ImageShape = (1, 28, 28),
    base_width: int = 64,
    widths: Sequence[int] | None = None,
    kernels: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    paddings: Sequence[int] | None = None,
    norm: NormLike = "batch",
    act: ActLike = "relu",
    out_act: ActLike = "tanh",
    bias: bool | None = None,
    init: Init = "dcgan",
    num_classes: int | None = None,
    embed_dim: int | None = None,
) -> nn.Module:
    """DCGAN-style generator of transposed convolutions.

    The latent vector is read as a ``1x1`` feature map. By default the geometry
    follows from the image side ``start * 2**n``: a first transposed convolution
    with kernel ``start`` makes a ``start x start`` map with ``base_width * 2**(n-1)``
    channels, then ``n`` upsampling blocks (kernel 4, stride 2, padding 1) halve the
    channels and double the side, the last one producing the image. Alternatively
    give ``widths`` (hidden channels) with ``kernels``, ``strides`` and ``paddings``
    (one entry per layer, ``len(widths) + 1``) to build any stack; the resulting
    size is checked against ``image_shape``.

    Args:
        latent_dim: Size of the latent vector.
        image_shape: Output image shape ``(C, H, W)``, square.
        base_width: Channels of the last hidden layer in the derived geometry.
        widths: Hidden channels, first to last (derived geometry: ``n`` entries).
        kernels: Kernel size per layer (explicit geometry).
        strides: Stride per layer (explicit geometry).
        paddings: Padding per layer (explicit geometry).
        norm: Normalisation of the hidden layers.
        act: Activation of the hidden layers.
        out_act: Output activation: ``"tanh"``, ``"sigmoid"`` or ``"none"``.
        bias: Convolution biases for every layer; by default only where no norm
            layer follows (the output layer).
        init: ``"dcgan"`` (N(0, 0.02), the default) or ``"default"`` (PyTorch's).

        num_classes: Condition on ``num_classes`` labels: the generator then takes
            ``(z, y)`` (:class:`~mnistgan.conditioning.ConditionalGenerator`).
        embed_dim: Size of the label embedding (default: ``num_classes``).
    Returns:
        A module mapping ``(N, latent_dim)`` to ``(N, C, H, W)``.

    Raises:
        ConfigError: If an argument is invalid or the geometry does not produce
            the image size.

    Example:
        >>> import torch
        >>> g = conv_generator(latent_dim=100, image_shape=(1, 64, 64), bias=False)
        >>> sum(p.numel() for p in g.parameters())
        3574656
        >>> g(torch.randn(2, 100)).shape
        torch.Size([2, 1, 64, 64])
    """
    norm = _layers(norm, act, out_act)
    latent_dim = _positive_int(latent_dim, "latent_dim")
    classes, embed = _num_classes(num_classes, embed_dim)
    shape = _image_shape(image_shape)
    side = _square_side(shape, "conv_generator")
    base_width = _positive_int(base_width, "base_width")
    hidden = None if widths is None else _widths(widths, "widths")
    layers = None if hidden is None else len(hidden) + 1
    geometry = _explicit_geometry(kernels, strides, paddings, layers or 0)
    if geometry is None:
        start, n = _doublings(side, "conv_generator")
        if hidden is None:
            hidden = tuple(base_width * 2 ** (n - 1 - i) for i in range(n))
        elif len(hidden) != n:
            raise ConfigError(
                f"widths needs {n} entries for a side of {side} ({start}·2^{n}), got "
                f"{len(hidden)}; or give kernels, strides and paddings as well"
            )
        geometry = [(start, 1, 0)] + [(4, 2, 1)] * n
    else:
        assert hidden is not None  # explicit geometry needs widths
        out = 1
        for i, (k, s, p) in enumerate(geometry):
            out = (out - 1) * s - 2 * p + k
            if out < 1:
                raise ConfigError(
                    f"kernels/strides/paddings shrink the feature map to nothing at layer {i}; "
                    f"use smaller paddings or larger kernels"
                )
        if out != side:
            raise ConfigError(
                f"kernels/strides/paddings produce {out}x{out} images but image_shape is "
                f"{shape!r}; adjust the geometry"
            )
    channels = [latent_dim + embed, *hidden, shape[0]]
    net: OrderedDict[str, nn.Module] = OrderedDict()
    net["unflatten"] = nn.Unflatten(1, (channels[0], 1, 1))  # (N, Z) -> (N, Z, 1, 1)
    _add_deconv_stack(net, channels, geometry, norm=norm, act=act, out_act=out_act, bias=bias)
    return _generator(_apply_init(nn.Sequential(net), init), latent_dim, classes, embed)


def conv_discriminator(
    *,
    image_shape: ImageShape = (1, 28, 28),
    base_width: int = 64,
    widths: Sequence[int] | None = None,
    kernels: Sequence[int] | None = None,
    strides: Sequence[int] | None = None,
    paddings: Sequence[int] | None = None,
    norm: NormLike = "batch",
    norm_first: bool = False,
    norm_last: bool = True,
    act: ActLike = "leaky_relu",
    dropout: float = 0.0,
    bias: bool | None = None,
    init: Init = "dcgan",
    num_classes: int | None = None,
    conditioning: Conditioning = "projection",
) -> nn.Module:
    """DCGAN-style discriminator of strided convolutions and a linear head.

    By default the image side ``start * 2**n`` is halved ``n`` times by
    convolutions (kernel 4, stride 2, padding 1) starting at ``base_width``
    channels and doubling; a linear layer maps the last ``start x start`` map to
    one logit (the same maths as DCGAN's final ``start x start`` convolution).
    Alternatively give ``widths`` with ``kernels``, ``strides`` and ``paddings``
    (one entry per convolution).

    Args:
        image_shape: Input image shape ``(C, H, W)``, square.
        base_width: Channels of the first convolution in the derived geometry.
        widths: Channels per convolution, first to last.
        kernels: Kernel size per convolution (explicit geometry).
        strides: Stride per convolution (explicit geometry).
        paddings: Padding per convolution (explicit geometry).
        norm: Normalisation after each convolution (``"spectral"`` covers every
            layer, the head included).
        norm_first: Normalise the first convolution too (DCGAN does not).
        norm_last: Normalise the last convolution. Batch norm on a small last map
            (1x1 standardises each feature over the batch alone) lets a batch of noise
            look like a batch of digits; ``False`` gives that convolution a bias instead.
            A single convolution is normalised only if ``norm_first`` and
            ``norm_last`` are both true.
        act: Activation after each convolution.
        dropout: Dropout probability after each convolution block.
        bias: Biases for every layer; by default only where no norm layer follows.
        init: ``"dcgan"`` (N(0, 0.02), the default) or ``"default"`` (PyTorch's).

        num_classes: Condition on ``num_classes`` labels: the discriminator then
            takes ``(x, y)`` (:class:`~mnistgan.conditioning.ConditionalDiscriminator`).
        conditioning: ``"projection"`` (default) or ``"acgan"`` (auxiliary classifier).
    Returns:
        A module mapping ``(N, C, H, W)`` to logits ``(N,)``.

    Raises:
        ConfigError: If an argument is invalid or the geometry does not fit.

    Example:
        >>> import torch
        >>> d = conv_discriminator(image_shape=(1, 64, 64), bias=False)
        >>> sum(p.numel() for p in d.parameters())
        2763520
        >>> d(torch.rand(2, 1, 64, 64)).shape
        torch.Size([2])
    """
    norm = _layers(norm, act)
    shape = _image_shape(image_shape)
    side = _square_side(shape, "conv_discriminator")
    base_width = _positive_int(base_width, "base_width")
    p_drop = _probability(dropout, "dropout")
    hidden = None if widths is None else _widths(widths, "widths")
    geometry = _explicit_geometry(kernels, strides, paddings, 0 if hidden is None else len(hidden))
    if geometry is None:
        start, n = _doublings(side, "conv_discriminator")
        if hidden is None:
            hidden = tuple(base_width * 2**i for i in range(n))
        elif len(hidden) != n:
            raise ConfigError(
                f"widths needs {n} entries for a side of {side} ({start}·2^{n}), got "
                f"{len(hidden)}; or give kernels, strides and paddings as well"
            )
        geometry = [(4, 2, 1)] * n
    assert hidden is not None
    out = side
    for i, (k, s, p) in enumerate(geometry):
        out = (out + 2 * p - k) // s + 1
        if out < 1:
            raise ConfigError(
                f"the convolutions shrink {side}x{side} images to nothing at layer {i}; "
                f"use fewer layers or smaller kernels/strides"
            )
    spectral = norm == "spectral"
    channels = [shape[0], *hidden]
    last = len(geometry) - 1
    net: OrderedDict[str, nn.Module] = OrderedDict()
    for i, (k, s, p) in enumerate(geometry):
        normed = (i > 0 or norm_first) and (i < last or norm_last)
        block = conv_block(
            channels[i],
            channels[i + 1],
            k,
            s,
            p,
            norm=norm if (normed or spectral) else "none",
            act=act,
            bias=bias,
        )
        if p_drop > 0:
            block.append(nn.Dropout(p_drop))
        net[f"block{i}"] = block
    net["flatten"] = nn.Flatten()  # (N, C', s, s) -> (N, C'*s*s)
    head = nn.Linear(channels[-1] * out * out, 1, bias=True if bias is None else bias)
    net["head"] = nn.utils.parametrizations.spectral_norm(head) if spectral else head
    net["logits"] = nn.Flatten(0)  # (N, 1) -> (N,)
    return _discriminator(_apply_init(nn.Sequential(net), init), num_classes, conditioning)


# --------------------------------------------------------------------------- InfoGAN family


def fc_conv_generator(
    *,
    latent_dim: int = 100,
    image_shape: ImageShape = (1, 28, 28),
    fc_width: int = 1024,
    base_width: int = 64,
    widths: Sequence[int] | None = None,
    norm: NormLike = "batch",
    act: ActLike = "relu",
    out_act: ActLike = "sigmoid",
    bias: bool | None = None,
    init: Init = "default",
    num_classes: int | None = None,
    embed_dim: int | None = None,
) -> nn.Module:
    """Linear layers, then transposed convolutions (the InfoGAN MNIST generator).

    ``Linear(latent, fc_width)`` and ``Linear(fc_width, widths[0]·s·s)`` reshape to a
    ``s x s`` map, then ``len(widths)`` transposed convolutions (kernel 4, stride 2,
    padding 1) double the side up to the image, where ``side = s * 2**len(widths)``.

    Args:
        latent_dim: Size of the latent vector.
        image_shape: Output image shape ``(C, H, W)``, square.
        fc_width: Width of the first linear layer.
        base_width: Channels of the last hidden map when ``widths`` is derived.
        widths: Channels of the feature maps, first to last; by default derived
            from the image side like :func:`conv_generator`.
        norm: Normalisation of the hidden layers.
        act: Activation of the hidden layers.
        out_act: Output activation (``"sigmoid"`` in the reference, images in [0, 1]).
        bias: Biases for every layer; by default only where no norm layer follows.
        init: ``"default"`` (PyTorch's) or ``"dcgan"``.

        num_classes: Condition on ``num_classes`` labels: the generator then takes
            ``(z, y)`` (:class:`~mnistgan.conditioning.ConditionalGenerator`).
        embed_dim: Size of the label embedding (default: ``num_classes``).
    Returns:
        A module mapping ``(N, latent_dim)`` to ``(N, C, H, W)``.

    Raises:
        ConfigError: If an argument is invalid.

    Example:
        >>> import torch
        >>> g = fc_conv_generator(bias=True)
        >>> sum(p.numel() for p in g.parameters())
        6679105
        >>> g(torch.randn(2, 100)).shape
        torch.Size([2, 1, 28, 28])
    """
    norm = _layers(norm, act, out_act)
    latent_dim = _positive_int(latent_dim, "latent_dim")
    classes, embed = _num_classes(num_classes, embed_dim)
    fc_width = _positive_int(fc_width, "fc_width")
    base_width = _positive_int(base_width, "base_width")
    shape = _image_shape(image_shape)
    side = _square_side(shape, "fc_conv_generator")
    if widths is None:
        start, n = _doublings(side, "fc_conv_generator")
        hidden = tuple(base_width * 2 ** (n - 1 - i) for i in range(n))
    else:
        hidden = _widths(widths, "widths")
        start, rest = divmod(side, 2 ** len(hidden))
        if rest or start < 1:
            raise ConfigError(
                f"{len(hidden)} upsampling layers need an image side divisible by "
                f"{2 ** len(hidden)}, got {side}; change widths or image_shape"
            )
    net: OrderedDict[str, nn.Module] = OrderedDict()
    net["fc0"] = linear_block(latent_dim + embed, fc_width, norm=norm, act=act, bias=bias)
    net["fc1"] = linear_block(fc_width, hidden[0] * start * start, norm=norm, act=act, bias=bias)
    net["unflatten"] = nn.Unflatten(1, (hidden[0], start, start))  # (N, F) -> (N, C, s, s)
    geometry = [(4, 2, 1)] * len(hidden)  # each layer doubles the side
    _add_deconv_stack(
        net, [*hidden, shape[0]], geometry, norm=norm, act=act, out_act=out_act, bias=bias
    )
    return _generator(_apply_init(nn.Sequential(net), init), latent_dim, classes, embed)


def conv_pool_discriminator(
    *,
    image_shape: ImageShape = (1, 28, 28),
    widths: Sequence[int] = (32, 64),
    kernel_size: int = 5,
    fc_width: int = 1024,
    norm: NormLike = "none",
    act: ActLike = "leaky_relu",
    init: Init = "default",
    num_classes: int | None = None,
    conditioning: Conditioning = "projection",
) -> nn.Module:
    """Convolution + max-pool stages, then linear layers (the InfoGAN MNIST discriminator).

    Each stage is an unpadded convolution, the activation and a 2x2 max-pool, so a
    side ``s`` becomes ``(s - kernel_size + 1) // 2``.

    Args:
        image_shape: Input image shape ``(C, H, W)``.
        widths: Channels per stage.
        kernel_size: Convolution kernel size.
        fc_width: Width of the hidden linear layer.
        norm: Normalisation after each convolution and the hidden linear layer.
        act: Activation after each convolution and the hidden linear layer.
        init: ``"default"`` (PyTorch's) or ``"dcgan"``.

        num_classes: Condition on ``num_classes`` labels: the discriminator then
            takes ``(x, y)`` (:class:`~mnistgan.conditioning.ConditionalDiscriminator`).
        conditioning: ``"projection"`` (default) or ``"acgan"`` (auxiliary classifier).
    Returns:
        A module mapping ``(N, C, H, W)`` to logits ``(N,)``.

    Raises:
        ConfigError: If an argument is invalid or the stages shrink the image to
            nothing.

    Example:
        >>> import torch
        >>> d = conv_pool_discriminator()
        >>> sum(p.numel() for p in d.parameters())
        1102721
        >>> d(torch.rand(2, 1, 28, 28)).shape
        torch.Size([2])
    """
    norm = _layers(norm, act)
    c, h, w = _image_shape(image_shape)
    hidden = _widths(widths, "widths")
    kernel_size = _positive_int(kernel_size, "kernel_size")
    fc_width = _positive_int(fc_width, "fc_width")
    net: OrderedDict[str, nn.Module] = OrderedDict()
    channels = [c, *hidden]
    for i in range(len(hidden)):
        h, w = (h - kernel_size + 1) // 2, (w - kernel_size + 1) // 2
        if h < 1 or w < 1:
            raise ConfigError(
                f"{len(hidden)} conv+pool stages with kernel_size={kernel_size} shrink "
                f"image_shape={tuple(image_shape)!r} to nothing; use fewer widths or a "
                f"smaller kernel_size"
            )
        block = conv_block(channels[i], channels[i + 1], kernel_size, norm=norm, act=act)
        block.append(nn.MaxPool2d(2))
        net[f"block{i}"] = block
    net["flatten"] = nn.Flatten()  # (N, C', h, w) -> (N, C'*h*w)
    net["fc"] = linear_block(channels[-1] * h * w, fc_width, norm=norm, act=act)
    head_norm = "spectral" if norm == "spectral" else "none"
    net["head"] = linear_block(fc_width, 1, norm=head_norm, act=None)
    net["logits"] = nn.Flatten(0)  # (N, 1) -> (N,)
    return _discriminator(_apply_init(nn.Sequential(net), init), num_classes, conditioning)


_BUILDERS: dict[str, Callable[..., nn.Module]] = {}

BUILDERS: Mapping[str, Callable[..., nn.Module]] = MappingProxyType(_BUILDERS)
"""Builders by name (a read-only view of the registry), so a model configuration can name
the builder it needs; :func:`register_builder` adds to it."""

_B = TypeVar("_B", bound=Callable[..., nn.Module])


def register_builder(name: str) -> Callable[[_B], _B]:
    """Register a network builder under ``name``, so a config's ``NetworkSpec`` can name it.

    Use it as a decorator on a function with keyword-only arguments that returns an
    ``nn.Module``. A generator builder receives ``latent_dim``, ``image_shape``,
    ``out_act`` and ``num_classes``; a discriminator builder ``image_shape``,
    ``num_classes`` and ``conditioning``; both receive the spec's own ``kwargs``. A
    config naming the builder trains, checkpoints and loads by that name; in a fresh
    process, register it again (e.g. in the module that defines it) before loading.

    Raises:
        ConfigError: If ``name`` is not a non-empty str or is already registered.

    Example:
        >>> register_builder("conv_generator")(conv_generator)
        Traceback (most recent call last):
        ...
        mnistgan.errors.ConfigError: a builder named 'conv_generator' is already registered; ...
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"name must be a non-empty str, got {name!r}")

    def decorator(fn: _B) -> _B:
        if name in _BUILDERS:
            raise ConfigError(
                f"a builder named {name!r} is already registered; choose another name "
                f"(taken: {list_builders()})"
            )
        if not callable(fn):
            raise ConfigError(f"a builder must be callable, got {type(fn).__name__}")
        _BUILDERS[name] = fn
        return fn

    return decorator


def list_builders() -> list[str]:
    """Names of the registered builders, sorted.

    Example:
        >>> list_builders()[:2]
        ['conv_discriminator', 'conv_generator']
    """
    return sorted(_BUILDERS)


def get_builder(name: str) -> Callable[..., nn.Module]:
    """The builder registered under ``name``.

    Raises:
        ConfigError: If no builder has that name (the message lists the known ones).

    Example:
        >>> get_builder("mlp_generator") is mlp_generator
        True
    """
    try:
        return _BUILDERS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown builder {name!r}; known builders: {list_builders()} (add your own "
            "with mnistgan.builders.register_builder)"
        ) from None


for _builder in (
    mlp_generator,
    mlp_discriminator,
    conv_generator,
    conv_discriminator,
    fc_conv_generator,
    conv_pool_discriminator,
):
    register_builder(_builder.__name__)(_builder)
