"""The model zoo: each trtnet model with its PyTorch twin, reduced (test) and full sizes, and seeded weights.

Used by ``tests/test_zoo.py``, ``examples/zoo_<model>.py`` and ``benchmarks/zoo_report.py``::

    from models import zoo
    spec = zoo.MODELS["vit_b_16"]
    twin = zoo.random_twin(spec, "reduced", seed=0)      # eager PyTorch model, random seeded weights
    zoo.save_weights(twin, "vit.safetensors")
    model = spec.trtnet_model("reduced", dtype="fp16")   # trtnet model (fp16 plus its fp32 islands)
    model.load_safetensors("vit.safetensors")

Random weights are PyTorch's default initialisation (seeded) with everything that initialises to a
constant made random: BatchNorm statistics and affine parameters, LayerNorm affine parameters, biases,
ViT's class token and zero-initialised head; linear layers that torchvision draws from N(0, 0.01) get
Kaiming-scaled weights so logits are O(1). Otherwise BatchNorm and LayerNorm would be identities and
ViT's logits exactly zero, and the checks would prove little.
"""

from __future__ import annotations

import importlib
import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import torch

#: Tolerances tried in order (atol = rtol); the first one a check meets is recorded. The zoo's bar is the
#: first fp32 rung and 1e-2 (``trtnet.compare``'s fp16 default) in fp16; the finer fp16 rungs say by how much
#: a model clears it, the looser ones how far it misses.
TOLERANCE_LADDER = {
    "fp32": [1e-4, 1e-3],
    "fp16": [1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2],
}
FP16_BAR = 1e-2


@dataclass
class ZooModel:
    """A zoo entry: factories (``module:function``) and their keyword arguments per size."""

    name: str
    trtnet_factory: str
    torch_factory: str
    sizes: dict[str, dict[str, Any]]
    full_keys: int  # state_dict keys of the full-size twin (torchvision's / the reference repository's)
    full_params: int  # parameters of the full-size twin
    fp32_islands: tuple[str, ...] = ()  # trtnet.nn classes kept in float32 in a half model
    twin_takes_image_size: bool = False  # only ViT's twin needs the input size (its position embedding)
    channels: int = 3
    notes: str = ""

    def _factory(self, which: str) -> Callable[..., Any]:
        module, function = (self.trtnet_factory if which == "trtnet" else self.torch_factory).split(":")
        return getattr(importlib.import_module(module), function)

    def kwargs(self, size: str, *, for_torch: bool = False) -> dict[str, Any]:
        kwargs = dict(self.sizes[size])
        if for_torch and not self.twin_takes_image_size:
            kwargs.pop("image_size")  # the trtnet factories take it for their default (dynamic-batch) input
        return kwargs

    def image_size(self, size: str) -> int:
        return int(self.sizes[size]["image_size"])

    def input_shape(self, size: str, batch: int) -> tuple[int, int, int, int]:
        s = self.image_size(size)
        return (batch, self.channels, s, s)

    def torch_model(self, size: str) -> torch.nn.Module:
        return self._factory("torch")(**self.kwargs(size, for_torch=True)).eval()

    def trtnet_model(self, size: str, dtype: str = "fp32") -> Any:
        model = self._factory("trtnet")(**self.kwargs(size))
        if dtype in ("fp16", "float16"):
            model.to("fp16")
            if self.fp32_islands:
                import trtnet.nn as nn

                model.keep_in_fp32(*(getattr(nn, c) for c in self.fp32_islands))
        return model


MODELS: dict[str, ZooModel] = {
    "mobilenet_v2": ZooModel(
        "mobilenet_v2", "models.mobilenetv2:mobilenet_v2", "models.mobilenetv2_torch:mobilenet_v2",
        sizes={
            "reduced": dict(num_classes=10, width_mult=0.25, image_size=32, last_channel=64,
                            inverted_residual_setting=[[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2], [6, 64, 1, 2]]),
            "full": dict(image_size=224),
        },
        full_keys=314, full_params=3_504_872,
    ),
    "vgg16": ZooModel(
        "vgg16", "models.vgg:vgg16", "models.vgg_torch:vgg16",
        sizes={"reduced": dict(num_classes=10, width_divisor=16, image_size=224), "full": dict(image_size=224)},
        full_keys=32, full_params=138_357_544,
        notes="reduced: every width / 16 (the 7x7 adaptive pool needs a 224 input)",
    ),
    "vit_b_16": ZooModel(
        "vit_b_16", "models.vit:vit_b_16", "models.vit_torch:vit_b_16",
        sizes={
            "reduced": dict(num_classes=10, image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64,
                            mlp_dim=128),
            "full": dict(image_size=224),
        },
        full_keys=152, full_params=86_567_656, fp32_islands=("LayerNorm",), twin_takes_image_size=True,
    ),
    "unet": ZooModel(
        "unet", "models.unet:unet", "models.unet_torch:unet",
        sizes={"reduced": dict(base=8, depth=4, image_size=32), "full": dict(base=64, depth=4, image_size=256)},
        full_keys=118, full_params=31_037_698,
    ),
    "unet_bilinear": ZooModel(
        "unet_bilinear", "models.unet:unet", "models.unet_torch:unet",
        sizes={"reduced": dict(base=8, depth=3, bilinear=True, image_size=36),
               "full": dict(base=64, depth=4, bilinear=True, image_size=256)},
        full_keys=110, full_params=17_263_042,
    ),
}


@torch.no_grad()
def randomize(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Make every constant-initialised tensor of ``model`` random (seeded), in place; returns ``model``."""
    gen = torch.Generator().manual_seed(seed + 1)

    def normal(t: torch.Tensor, std: float, mean: float = 0.0) -> None:
        t.copy_(torch.randn(t.shape, generator=gen) * std + mean)

    def uniform(t: torch.Tensor, lo: float, hi: float) -> None:
        t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)

    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            normal(module.running_mean, 0.1)
            uniform(module.running_var, 0.5, 1.5)
            uniform(module.weight, 0.5, 1.5)
            normal(module.bias, 0.1)
            module.num_batches_tracked.fill_(100)
        elif isinstance(module, torch.nn.LayerNorm):
            uniform(module.weight, 0.5, 1.5)
            normal(module.bias, 0.1)
        elif isinstance(module, torch.nn.Linear) and module.weight.std() < 0.5 / math.sqrt(module.in_features):
            normal(module.weight, math.sqrt(2.0 / module.in_features))  # torchvision's N(0, 0.01) heads: O(1) logits
    for name, param in model.named_parameters():
        if name.endswith("bias") and not torch.count_nonzero(param):
            normal(param, 0.02)
        elif not torch.count_nonzero(param):  # ViT's class_token and head weight
            fan_in = param.shape[-1] if param.ndim > 1 else 1
            normal(param, 1.0 / math.sqrt(fan_in) if param.ndim == 2 else 0.02)
    return model


def random_twin(spec: ZooModel, size: str, seed: int = 0) -> torch.nn.Module:
    """The eager twin at ``size`` with seeded random weights (see :func:`randomize`), in eval mode."""
    torch.manual_seed(seed)
    return randomize(spec.torch_model(size), seed).eval()


def save_weights(model: torch.nn.Module, path: str | os.PathLike) -> str:
    """Write ``model.state_dict()`` as safetensors (contiguous copies, shared storage resolved)."""
    from safetensors.torch import save_file

    save_file({k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}, os.fspath(path))
    return os.fspath(path)


def random_input(spec: ZooModel, size: str, batch: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(1000 + seed + batch)
    return torch.randn(spec.input_shape(size, batch), generator=gen)


def profile_batches(model: Any) -> list[int]:
    """The distinct batch sizes (min, opt, max) of the model's dynamic default input."""
    spec = model.default_inputs[0]
    shapes = spec.profile_shapes()
    return sorted({shapes[k][0] for k in ("min", "opt", "max")})


@dataclass
class BatchResult:
    batch: int
    passed: bool
    max_abs_err: float
    max_abs_expected: float  # max |twin output|: the scale the errors compare with
    tolerance: float | None  # the first TOLERANCE_LADDER entry met (atol = rtol), None if none
    report: Any
    seconds: float


def check_batches(spec: ZooModel, size: str, dtype: str, weights: str | os.PathLike, seed: int = 0,
                  batches: list[int] | None = None, ladder: list[float] | None = None) -> list[BatchResult]:
    """``trtnet.check`` of the dynamic-batch network against the twin at each profile batch (min/opt/max):
    the same dynamic network is fed inputs of each batch size. For each batch the tolerance ladder is walked
    (atol = rtol = t) until a check passes; the first one met is recorded."""
    import time

    import trtnet

    from safetensors.torch import load_file

    ladder = list(ladder or TOLERANCE_LADDER["fp16" if dtype in ("fp16", "float16") else "fp32"])
    twin = spec.torch_model(size)
    twin.load_state_dict(load_file(os.fspath(weights)))
    results = []
    for batch in batches or profile_batches(spec.trtnet_model(size)):
        x = random_input(spec, size, batch, seed).numpy()
        with torch.inference_mode():
            scale = float(twin(torch.from_numpy(x)).abs().max())
        start = time.perf_counter()
        report, met = None, None
        for t in ladder:
            model = spec.trtnet_model(size, dtype)
            report = trtnet.check(model, spec.torch_model(size), weights=weights, dtype=dtype, device="cpu",
                                  input_arrays={"input": x}, atol=t, rtol=t)
            if report.passed:
                met = t
                break
        out = report.outputs[0]
        results.append(BatchResult(batch, report.passed, out.max_abs_err, scale, met,
                                   report, time.perf_counter() - start))
    return results


def build_engine(spec: ZooModel, size: str, weights: str | os.PathLike, dtype: str = "fp32") -> tuple[bytes, float]:
    """Build the dynamic-batch engine (default inputs); returns (engine bytes, seconds to trace + build)."""
    import time

    import trtnet

    model = spec.trtnet_model(size, dtype)
    model.load_safetensors(weights)
    start = time.perf_counter()
    engine = trtnet.build(model, progress=False)
    return engine, time.perf_counter() - start


def example_main(name: str, argv: list[str] | None = None) -> int:
    """The ``examples/zoo_<name>.py`` scripts: weights (random seeded, or ``--weights``), build, check.
    Exit status 0 when every check passes, 1 when one fails, 2 when the weights don't fit or nothing builds."""
    from trtnet.errors import TrtnetError

    try:
        return _example(name, argv)
    except TrtnetError as exc:
        print(f"error: {exc}")
        return 2


def _example(name: str, argv: list[str] | None) -> int:
    import argparse
    import tempfile

    from trtnet.report import format_table

    spec = MODELS[name]
    parser = argparse.ArgumentParser(description=f"Build {name} with trtnet and check it against its PyTorch twin.")
    parser.add_argument("--weights", help="a torchvision-named .safetensors state_dict (default: random, seeded)")
    parser.add_argument("--save", help="write the random weights here")
    parser.add_argument("--reduced", action="store_true", help=f"the reduced test size: {spec.sizes['reduced']}")
    parser.add_argument("--dtype", choices=["fp32", "fp16", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", help="write the fp32 engine here")
    args = parser.parse_args(argv)
    size = "reduced" if args.reduced else "full"

    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights
        if weights is None:
            weights = save_weights(random_twin(spec, size, args.seed), args.save or os.path.join(tmp, f"{name}.safetensors"))
            print(f"{name} ({size}): random weights (seed {args.seed}) -> {weights}")
        engine, seconds = build_engine(spec, size, weights)
        print(f"engine: {len(engine) / 1e6:.1f} MB (dynamic batch {profile_batches(spec.trtnet_model(size))}), "
              f"trace + build {seconds:.1f} s")
        if args.engine:
            with open(args.engine, "wb") as handle:
                handle.write(engine)
        ok = True
        for dtype in (["fp32", "fp16"] if args.dtype == "both" else [args.dtype]):
            results = check_batches(spec, size, dtype, weights, args.seed)
            for r in results:
                print(f"{dtype} batch {r.batch}: {'PASS' if r.passed else 'FAIL'}  max abs err {r.max_abs_err:.3g}  "
                      f"tolerance met atol=rtol={r.tolerance}  ({r.seconds:.1f} s)")
                ok &= r.passed
            print(format_table(results[len(results) // 2].report), end="\n\n")
    return 0 if ok else 1
