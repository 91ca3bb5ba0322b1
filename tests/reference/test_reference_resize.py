"""Resize against F.interpolate where PyTorch has the mode, else against a per-pixel loop of NvInfer.h's formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from _raw import RawNet, close, randn, single, trt


def _resize(net: RawNet, x, mode: str, transform: str, shape=None, scales=None, rounding=None):
    layer = net.network.add_resize(x)
    layer.resize_mode = getattr(trt.InterpolationMode, mode)
    layer.coordinate_transformation = getattr(trt.ResizeCoordinateTransformation, transform)
    if shape is not None:
        layer.shape = shape
    if scales is not None:
        layer.scales = scales
    if rounding is not None:
        layer.nearest_rounding = getattr(trt.ResizeRoundMode, rounding)
    return layer


TORCH_CASES = [
    # mode, transform, rounding, out (h, w), torch interpolate kwargs
    ("NEAREST", "ASYMMETRIC", "FLOOR", (8, 12), dict(mode="nearest")),
    ("NEAREST", "ASYMMETRIC", "FLOOR", (3, 4), dict(mode="nearest")),
    ("NEAREST", "HALF_PIXEL", "HALF_UP", (7, 9), dict(mode="nearest-exact")),
    ("LINEAR", "HALF_PIXEL", None, (9, 13), dict(mode="bilinear", align_corners=False)),
    ("LINEAR", "HALF_PIXEL", None, (2, 3), dict(mode="bilinear", align_corners=False)),
    ("LINEAR", "ALIGN_CORNERS", None, (7, 11), dict(mode="bilinear", align_corners=True)),
    ("CUBIC", "HALF_PIXEL", None, (9, 10), dict(mode="bicubic", align_corners=False)),
    ("CUBIC", "ALIGN_CORNERS", None, (5, 8), dict(mode="bicubic", align_corners=True)),
]


@pytest.mark.parametrize("mode,transform,rounding,out,kwargs", TORCH_CASES, ids=[f"{c[0]}-{c[1]}-{c[3]}" for c in TORCH_CASES])
def test_resize_like_torch(mode, transform, rounding, out, kwargs):
    x_val = randn(2, 3, 4, 6, seed=1)
    net = RawNet()
    layer = _resize(net, net.input("x", x_val.shape), mode, transform, shape=(2, 3, *out), rounding=rounding)
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, F.interpolate(torch.from_numpy(x_val), size=out, **kwargs), atol=1e-5)


def test_resize_by_scales():
    x_val = randn(1, 2, 4, 6, seed=2)
    net = RawNet()
    layer = _resize(net, net.input("x", x_val.shape), "LINEAR", "HALF_PIXEL", scales=[1.0, 1.0, 2.0, 0.5])
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, F.interpolate(torch.from_numpy(x_val), scale_factor=(2.0, 0.5), mode="bilinear"), atol=1e-5)


def test_resize_to_a_shape_tensor_input_and_in_3d():
    x_val = randn(1, 2, 3, 4, 5, seed=3)
    net = RawNet()
    layer = _resize(net, net.input("x", x_val.shape), "LINEAR", "ALIGN_CORNERS")
    layer.set_input(1, net.shape_const([1, 2, 5, 7, 4]))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, F.interpolate(torch.from_numpy(x_val), size=(5, 7, 4), mode="trilinear", align_corners=True), atol=1e-5)


def _coordinate(transform: str, j: int, n_in: int, n_out: int) -> float:
    if transform == "ALIGN_CORNERS":
        return 0.0 if n_out == 1 else j * (n_in - 1) / (n_out - 1)
    if transform == "ASYMMETRIC":
        return j * n_in / n_out
    return (j + 0.5) * n_in / n_out - 0.5


ROUND = {"FLOOR": math.floor, "CEIL": math.ceil, "HALF_UP": lambda v: math.floor(v + 0.5), "HALF_DOWN": lambda v: math.ceil(v - 0.5)}


def _loop_reference(x: np.ndarray, out_hw, mode: str, transform: str, rounding: str = "FLOOR", upper: bool = False) -> np.ndarray:
    """Per output pixel, per axis: NEAREST picks the rounded source index, LINEAR weights the two neighbours."""
    (h, w), (oh, ow) = x.shape[-2:], out_hw

    def taps(j: int, n_in: int, n_out: int) -> list[tuple[int, float]]:
        c = 0.0 if (upper and n_out == 1) else _coordinate(transform, j, n_in, n_out)
        if mode == "NEAREST":
            return [(min(max(ROUND[rounding](c), 0), n_in - 1), 1.0)]
        c = min(max(c, 0.0), n_in - 1)
        low = math.floor(c)
        return [(low, 1 - (c - low)), (min(low + 1, n_in - 1), c - low)]

    out = np.zeros((*x.shape[:-2], oh, ow))
    for i in range(oh):
        for j in range(ow):
            for (si, wi) in taps(i, h, oh):
                for (sj, wj) in taps(j, w, ow):
                    out[..., i, j] += wi * wj * x[..., si, sj]
    return out


@pytest.mark.parametrize("transform", ["ASYMMETRIC", "ALIGN_CORNERS", "HALF_PIXEL"])
@pytest.mark.parametrize("rounding", ["FLOOR", "CEIL", "HALF_UP", "HALF_DOWN"])
def test_nearest_rounding_modes(transform, rounding):
    x_val = randn(1, 2, 5, 4, seed=4)
    net = RawNet()
    layer = _resize(net, net.input("x", x_val.shape), "NEAREST", transform, shape=(1, 2, 7, 6), rounding=rounding)
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, _loop_reference(x_val, (7, 6), "NEAREST", transform, rounding))


def test_linear_asymmetric():
    x_val = randn(1, 1, 4, 5, seed=5)
    net = RawNet()
    layer = _resize(net, net.input("x", x_val.shape), "LINEAR", "ASYMMETRIC", shape=(1, 1, 7, 3))
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, _loop_reference(x_val, (7, 3), "LINEAR", "ASYMMETRIC"), atol=1e-5)


@pytest.mark.parametrize("selector", ["FORMULA", "UPPER"])
def test_single_pixel_selector(selector):
    x_val = randn(1, 1, 4, 6, seed=6)
    net = RawNet()
    layer = _resize(net, net.input("x", x_val.shape), "LINEAR", "HALF_PIXEL", shape=(1, 1, 1, 3))
    layer.selector_for_single_pixel = getattr(trt.ResizeSelector, selector)
    got = single(net, layer.get_output(0), {"x": x_val})
    close(got, _loop_reference(x_val, (1, 3), "LINEAR", "HALF_PIXEL", upper=selector == "UPPER"), atol=1e-5)


def test_cubic_exclude_outside_renormalizes():
    x_val = randn(1, 1, 4, 4, seed=7)
    net = RawNet()
    layer = _resize(net, net.input("x", x_val.shape), "CUBIC", "ASYMMETRIC", shape=(1, 1, 4, 6))
    layer.exclude_outside = True
    layer.cubic_coeff = -0.5
    got = single(net, layer.get_output(0), {"x": x_val})

    def kernel(d: float, a: float = -0.5) -> float:
        d = abs(d)
        if d <= 1:
            return (a + 2) * d**3 - (a + 3) * d**2 + 1
        return a * d**3 - 5 * a * d**2 + 8 * a * d - 4 * a if d < 2 else 0.0

    expected = np.zeros((1, 1, 4, 6))
    for j in range(6):
        c = j * 4 / 6
        taps = [(n, kernel(c - n)) for n in range(math.floor(c) - 1, math.floor(c) + 3) if 0 <= n < 4]
        total = sum(w for _, w in taps)
        expected[..., j] = sum(w * x_val[..., n] for n, w in taps) / total
    close(got, expected, atol=1e-5)
