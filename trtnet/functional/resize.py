"""``interpolate`` (``IResizeLayer``) with PyTorch's coordinate rules.

A resized coordinate x maps to the input coordinate (per resized dim; ``scale`` = the resize scale out/in):

============================  =================================  ===========================================
PyTorch mode                   PyTorch source coordinate           TensorRT
============================  =================================  ===========================================
nearest                        floor(x / scale), clamped           NEAREST, ASYMMETRIC, rounding FLOOR
nearest-exact                  floor((x + 0.5) / scale), clamped   NEAREST, HALF_PIXEL, rounding HALF_UP
(bi/tri)linear, corners False  max((x + 0.5) / scale - 0.5, 0)     LINEAR, HALF_PIXEL (edges clamp)
(bi/tri)linear, corners True   x * (in - 1) / (out - 1)            LINEAR, ALIGN_CORNERS
bicubic, corners False/True    as linear, not clamped, A = -0.75   CUBIC, cubic_coeff -0.75, HALF_PIXEL/ALIGN
============================  =================================  ===========================================

``scale``: with ``size`` PyTorch uses out/in; with ``scale_factor`` (and ``recompute_scale_factor`` not True) it uses
the factor itself even when ``in * factor`` is not an integer. TensorRT does the same: ``layer.shape`` makes it
out/in, ``layer.scales`` makes the output ``floor(in * scale)`` and the coordinate scale the given one (as ONNX
Resize). A single output pixel with align_corners reads pixel 0 (ResizeSelector.UPPER).

Float rounding at exact ties (nearest modes): PyTorch computes a source index as ``floor(x * float32(1/factor))`` in
float32. Where the exact coordinate is an integer and ``1/factor`` has no exact binary form (factor 1.7 or 2.4 with
nearest, or ``size`` such that ``in/out`` rounds down in float32), the index depends on the rounding of each
implementation, and TensorRT's arithmetic is not specified. Factors such as 2, 3, 0.5, 1.5, 2.5, 1.25 agree.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from trtnet import graph, symbolic
from trtnet.errors import ShapeError, TrtnetError
from trtnet.functional._util import out, trt
from trtnet.functional.dims import runtime_shape
from trtnet.functional.pooling import adaptive_pool
from trtnet.tensor import Tensor

_LINEAR_RANK = {"linear": 3, "bilinear": 4, "trilinear": 5, "bicubic": 4}


def resize(op: str, x: Tensor, mode: str, transform: str, *, shape: Sequence[int] | None = None,
           scales: Sequence[float] | None = None, expected: Sequence[int] | None = None, rounding: str = "FLOOR",
           single_pixel: str = "FORMULA", cubic_coeff: float = -0.75) -> Tensor:
    """Lower one resize (``mode`` NEAREST/LINEAR/CUBIC, ``transform`` a ResizeCoordinateTransformation name) to
    ``shape`` (may hold -1 for a dynamic dim kept as it is) or by ``scales`` (then the output must come out as
    ``expected``, see :func:`_set_scales`)."""
    t = trt()
    g = graph.current()
    layer = g.network.add_resize(x.itensor)
    layer.resize_mode = getattr(t.InterpolationMode, mode)
    layer.coordinate_transformation = getattr(t.ResizeCoordinateTransformation, transform)
    layer.selector_for_single_pixel = getattr(t.ResizeSelector, single_pixel)
    if mode == "NEAREST":
        layer.nearest_rounding = getattr(t.ResizeRoundMode, rounding)
    if mode == "CUBIC":
        layer.cubic_coeff = float(cubic_coeff)
        layer.exclude_outside = False
    if scales is not None:
        _set_scales(layer, scales, expected)
    else:
        dynamic = runtime_shape(x, shape)
        if dynamic is not None:
            layer.set_input(1, dynamic.itensor)
        else:
            layer.shape = tuple(shape)
    return out(g.add(op, layer))


def _set_scales(layer, scales: Sequence[float], expected: Sequence[int] | None) -> None:
    """Set ``scales`` (stored as float32 by TensorRT) so that TensorRT's ``floor(in * scale)`` gives ``expected``.

    PyTorch sizes the output as ``floor(in * factor)`` in double precision; with the float32 nearest to a factor
    such as 0.7 (0.69999999) TensorRT would get 6 for 10 * 0.7 where PyTorch gets 7. Such scales are moved by
    a few float32 ulps toward the size wanted (a relative change below 1e-6 of the coordinate scale)."""
    values = [np.float32(s) for s in scales]
    layer.scales = [float(v) for v in values]
    if expected is None:
        return
    for _ in range(8):
        got = tuple(layer.get_output(0).shape)
        wrong = [d for d, (g, e) in enumerate(zip(got, expected)) if e != -1 and g != e]
        if not wrong:
            return
        for d in wrong:
            values[d] = np.nextafter(values[d], np.float32(np.inf if got[d] < expected[d] else -np.inf))
        layer.scales = [float(v) for v in values]


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """``torch.nn.functional.interpolate`` for ``nearest``, ``nearest-exact``, ``area`` (adaptive average pooling),
    ``linear`` (3-D), ``bilinear``, ``bicubic`` (4-D) and ``trilinear`` (5-D) on ``(N, C, *spatial)``; any dim may
    be dynamic (a dynamic spatial dim takes ``size=`` sizes, or a scale factor exact in float32)."""
    spatial = input.ndim - 2
    if spatial < 1 or spatial > 3:
        raise ShapeError(f"interpolate expects a 3-D, 4-D or 5-D input (N, C, *spatial), got {input.static_shape}")
    if mode in _LINEAR_RANK and input.ndim != _LINEAR_RANK[mode]:
        raise ShapeError(f"interpolate: mode {mode!r} needs a {_LINEAR_RANK[mode]}-D input, got {input.static_shape}")
    if mode not in ("nearest", "nearest-exact", "area", *_LINEAR_RANK):
        raise TrtnetError(f"interpolate: mode {mode!r} is not supported (nearest, nearest-exact, area, linear, "
                          "bilinear, bicubic, trilinear)")
    if align_corners is not None and mode in ("nearest", "nearest-exact", "area"):
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise TrtnetError("interpolate: antialias=True is not supported")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined")
    in_sizes = list(input.static_shape[2:])
    align = bool(align_corners)

    if size is not None:
        sizes = symbolic.sizes_arg([[size] * spatial if symbolic.is_size(size) else size], "interpolate", "size")
        if len(sizes) != spatial:
            raise ShapeError(f"interpolate: size {size} for {spatial} spatial dims")
        scales = None
    else:
        factors = [float(scale_factor)] * spatial if isinstance(scale_factor, (int, float)) else \
            [float(s) for s in scale_factor]
        if len(factors) != spatial:
            raise ShapeError(f"interpolate: scale_factor {scale_factor} for {spatial} spatial dims")
        sizes = [-1 if n == -1 else math.floor(n * f) for n, f in zip(in_sizes, factors)]
        # PyTorch uses the factor for the coordinates unless told to recompute it; align_corners ignores it.
        scales = None if (recompute_scale_factor or align) and -1 not in in_sizes else [1.0, 1.0, *factors]
        if -1 in in_sizes:
            _check_dynamic_factors(input, factors, bool(recompute_scale_factor))
    if any(isinstance(s, int) and s <= 0 and not (s == -1 and n == -1) for s, n in zip(sizes, in_sizes)):
        raise ShapeError(f"interpolate: output size {sizes} of {input.static_shape} must be positive")
    if mode == "area":  # as PyTorch: adaptive average pooling to the output size
        return adaptive_pool("interpolate", input, "AVERAGE", spatial, sizes)

    if mode == "nearest":
        kind, transform, rounding = "NEAREST", "ASYMMETRIC", "FLOOR"
    elif mode == "nearest-exact":
        kind, transform, rounding = "NEAREST", "HALF_PIXEL", "HALF_UP"
    else:
        kind = "CUBIC" if mode == "bicubic" else "LINEAR"
        transform, rounding = ("ALIGN_CORNERS" if align else "HALF_PIXEL"), "FLOOR"
    expected = [*input.static_shape[:2], *sizes]
    result = resize("interpolate", input, kind, transform, rounding=rounding,
                    single_pixel="UPPER" if align else "FORMULA",
                    shape=None if scales else expected, scales=scales, expected=expected)
    if scales and list(result.static_shape) != expected:
        raise ShapeError(f"interpolate: TensorRT computes output shape {result.static_shape} for scale_factor "
                         f"{scale_factor}, PyTorch {tuple(expected)}; pass size= instead")
    return result


def _check_dynamic_factors(input: Tensor, factors: Sequence[float], recompute: bool) -> None:
    """A dynamic spatial dim is resized by TensorRT's ``floor(in * float32(factor))`` at run time: PyTorch's size
    only when the factor is exact in float32, and PyTorch's coordinates under ``recompute_scale_factor`` only when
    ``in * factor`` is always an integer."""
    for n, f in zip(input.static_shape[2:], factors):
        if n == -1 and (float(np.float32(f)) != f or recompute and f != int(f)):
            raise ShapeError(f"interpolate: scale_factor {f} on the dynamic spatial dims of {input.static_shape} "
                             "would size or sample differently from PyTorch at run time; pass size= (e.g. sizes "
                             "from x.shape) instead")


def upsample_nearest(input: Tensor, size: int | Sequence[int] | None = None,
                     scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """``torch.nn.functional.upsample_nearest`` (deprecated): interpolate, mode nearest."""
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input: Tensor, size: int | Sequence[int] | None = None,
                      scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """``torch.nn.functional.upsample_bilinear`` (deprecated): interpolate, bilinear with align_corners=True."""
    return interpolate(input, size, scale_factor, "bilinear", align_corners=True)


def upsample(input: Tensor, size: int | Sequence[int] | None = None,
             scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """``torch.nn.functional.upsample`` (deprecated alias of interpolate)."""
    return interpolate(input, size, scale_factor, mode, align_corners)
