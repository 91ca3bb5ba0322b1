"""The model zoo (MobileNetV2, VGG-16, ViT-B/16, U-Net) against its eager-PyTorch twins.

Per model, at reduced size (see ``models.zoo.MODELS``):
- the trtnet model's state_dict keys and shapes are the twin's, in the same order;
- at full size, the twin has torchvision's (or the reference repository's) key and parameter counts, and the
  trtnet model the same keys and shapes (built on the meta device: nothing is allocated);
- each building block (InvertedResidual, EncoderBlock, U-Net Up with the pad path) matches its twin alone
  (``trtnet.testing.assert_matches_torch``, fp32 and fp16);
- the network builds with TensorRT-RTX with a static batch and with a dynamic batch (profile 1/2/4);
- ``trtnet.check`` passes in fp32 and fp16 at batch min, opt and max, feeding the one dynamic network
  (CPU reference executor); the tolerance each met is recorded (``record_property`` and the summary
  printed by ``test_tolerance_summary`` with ``-s``).
Full-size checks are ``@pytest.mark.slow`` (``pytest -m slow``); ``benchmarks/zoo_report.py`` tabulates them.
"""

from __future__ import annotations

import pytest
import torch

import trtnet
from models import zoo

NAMES = list(zoo.MODELS)
MET: dict[tuple[str, str], list[float | None]] = {}  # (model, dtype) -> tolerance met per batch


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("zoo")
    return {name: zoo.save_weights(zoo.random_twin(spec, "reduced"), folder / f"{name}.safetensors")
            for name, spec in zoo.MODELS.items()}


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_matches_twin(name: str) -> None:
    spec = zoo.MODELS[name]
    twin = spec.torch_model("reduced").state_dict()
    mine = {key: param.shape for key, param in spec.trtnet_model("reduced").state_dict_entries()}
    assert list(mine) == list(twin)
    assert mine == {key: tuple(value.shape) for key, value in twin.items()}


@pytest.mark.parametrize("name", NAMES)
def test_full_size_keys(name: str) -> None:
    spec = zoo.MODELS[name]
    with torch.device("meta"):
        twin = spec.torch_model("full")
    state = twin.state_dict()
    assert len(state) == spec.full_keys
    assert sum(p.numel() for p in twin.parameters()) == spec.full_params
    mine = {key: param.shape for key, param in spec.trtnet_model("full").state_dict_entries()}
    assert mine == {key: tuple(value.shape) for key, value in state.items()}


def _blocks():
    from models import mobilenetv2, mobilenetv2_torch, unet, unet_torch, vit, vit_torch

    g = torch.Generator().manual_seed(0)
    return {
        "InvertedResidual(residual)": (mobilenetv2.InvertedResidual(16, 16, 1, 6),
                                       mobilenetv2_torch.InvertedResidual(16, 16, 1, 6), [torch.randn(2, 16, 8, 8, generator=g)]),
        "InvertedResidual(stride 2)": (mobilenetv2.InvertedResidual(16, 24, 2, 6),
                                       mobilenetv2_torch.InvertedResidual(16, 24, 2, 6), [torch.randn(2, 16, 9, 9, generator=g)]),
        "EncoderBlock": (vit.EncoderBlock(4, 32, 64), vit_torch.EncoderBlock(4, 32, 64), [torch.randn(2, 5, 32, generator=g)]),
        "Up(transposed, padded)": (unet.Up(16, 8), unet_torch.Up(16, 8),
                                   [torch.randn(1, 16, 3, 3, generator=g), torch.randn(1, 8, 7, 7, generator=g)]),
        "Up(bilinear, padded)": (unet.Up(16, 4, bilinear=True), unet_torch.Up(16, 4, bilinear=True),
                                 [torch.randn(1, 8, 3, 4, generator=g), torch.randn(1, 8, 7, 9, generator=g)]),
    }


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("block", list(_blocks()))
def test_blocks_match_torch(block: str, dtype: str) -> None:
    """Each model's building block alone (odd sizes: the U-Net pad path), via ``assert_matches_torch``."""
    from trtnet.testing import assert_matches_torch

    mine, twin, inputs = _blocks()[block]
    torch.manual_seed(0)
    assert_matches_torch(mine, zoo.randomize(twin).eval(), inputs, dtype=dtype)


@pytest.mark.parametrize("name", NAMES)
def test_builds_static_and_dynamic_batch(name: str, weights: dict[str, str]) -> None:
    spec = zoo.MODELS[name]
    model = spec.trtnet_model("reduced")
    model.load_safetensors(weights[name])
    dynamic = model.default_inputs[0]
    assert dynamic.is_dynamic and zoo.profile_batches(model) == [1, 2, 4]
    static = trtnet.Input("input", spec.input_shape("reduced", 1))
    for inputs in ([static], [dynamic]):
        assert len(trtnet.build(model, inputs)) > 0


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", NAMES)
def test_check_min_opt_max_batch(name: str, dtype: str, weights: dict[str, str], record_property) -> None:
    results = zoo.check_batches(zoo.MODELS[name], "reduced", dtype, weights[name])
    MET[(name, dtype)] = [r.tolerance for r in results]
    for r in results:
        record_property(f"batch{r.batch}", f"max_abs_err={r.max_abs_err:.3g} tolerance={r.tolerance}")
    assert [r.batch for r in results] == [1, 2, 4]
    failed = [f"batch {r.batch}: {r.report.outputs[0].reason}" for r in results if not r.passed]
    assert not failed, failed
    if dtype == "fp32":  # fp32 must meet the tightest rung: anything looser hides a real lowering bug
        assert all(r.tolerance == zoo.TOLERANCE_LADDER["fp32"][0] for r in results)
    else:  # fp16 must meet the checker's default fp16 tolerance (ViT with its LayerNorms kept in fp32)
        assert all(r.tolerance <= zoo.FP16_BAR for r in results), MET[(name, dtype)]


def test_tolerance_summary() -> None:
    """Prints which tolerance each model met (run with -s); runs after the checks above."""
    for (name, dtype), met in sorted(MET.items()):
        print(f"{name:14s} {dtype}: atol=rtol={max(t for t in met if t is not None) if all(met) else None} "
              f"(per batch 1/2/4: {met})")


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", NAMES)
def test_full_size_check(name: str, dtype: str, tmp_path) -> None:
    spec = zoo.MODELS[name]
    path = zoo.save_weights(zoo.random_twin(spec, "full"), tmp_path / f"{name}.safetensors")
    results = zoo.check_batches(spec, "full", dtype, path, batches=[1])
    assert all(r.passed for r in results), [r.report.outputs[0].reason for r in results]
    bar = zoo.TOLERANCE_LADDER["fp32"][0] if dtype == "fp32" else zoo.FP16_BAR
    assert all(r.tolerance <= bar for r in results), [r.tolerance for r in results]
