"""nn.LSTM and nn.GRU against torch.nn.LSTM/GRU loaded with the same (seeded) state_dict: one engine built with a
dynamic sequence length (and batch), executed on the CPU reference executor at the profile's min, opt and max."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import trtnet  # noqa: E402
import trtnet.nn as nn  # noqa: E402
from trtnet.build import BuildConfig, serialize  # noqa: E402
from trtnet.errors import ShapeError, TrtnetError  # noqa: E402
from trtnet.reference import execute  # noqa: E402

INPUT, HIDDEN = 5, 6
POINTS = {"min": (1, 1), "opt": (6, 2), "max": (11, 3)}  # (sequence length, batch)
TOL = {"float32": 2e-5, "float16": 1e-2}


def twins(kind: str, seed: int = 0, **options):
    """(trtnet module, torch module) of ``kind`` with torch's seeded initial weights in both."""
    torch.manual_seed(seed)
    reference = getattr(torch.nn, kind)(INPUT, HIDDEN, **options).eval()
    model = getattr(nn, kind)(INPUT, HIDDEN, **options)
    model.load_state_dict(reference.state_dict())
    return model, reference


def layout(batch_first: bool, length: int, batch: int, features: int) -> tuple[int, ...]:
    return (batch, length, features) if batch_first else (length, batch, features)


def check_at_three_points(kind: str, *, with_state: bool = False, dtype: str = "float32", **options) -> dict:
    """Trace with a dynamic sequence length and batch, build once, run at min/opt/max; returns the worst error
    per point. ``with_state`` feeds h0 (and c0) as network inputs."""
    model, reference = twins(kind, **options)
    batch_first = options.get("batch_first", False)
    layers = options.get("num_layers", 1) * (2 if options.get("bidirectional") else 1)
    state_sizes = [options.get("proj_size") or HIDDEN] + ([HIDDEN] if kind == "LSTM" else [])
    specs = [trtnet.Input("x", layout(batch_first, -1, -1, INPUT), dtype,
                          **{p: layout(batch_first, t, b, INPUT) for p, (t, b) in POINTS.items()})]
    if with_state:
        specs += [trtnet.Input(f"h{i}", (layers, -1, size), dtype, **{p: (layers, b, size) for p, (_, b) in POINTS.items()})
                  for i, size in enumerate(state_sizes)]

    class Call(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.rnn = model

        def forward(self, x, *state):
            if not state:
                return self.rnn(x)
            return self.rnn(x, tuple(state) if kind == "LSTM" else state[0])

    net = trtnet.trace(Call().to(dtype), specs)
    assert len(serialize(net, BuildConfig())) > 0
    errors = {}
    rng = np.random.default_rng(1)
    for point, (length, batch) in POINTS.items():
        arrays = [rng.standard_normal(layout(batch_first, length, batch, INPUT)).astype(dtype)]
        if with_state:
            arrays += [rng.standard_normal((layers, batch, size)).astype(dtype) for size in state_sizes]
        got = execute(net.network, {spec.name: a for spec, a in zip(specs, arrays)})
        with torch.no_grad():
            inputs = [torch.from_numpy(a.astype(np.float32)) for a in arrays]
            state = () if not with_state else (tuple(inputs[1:]),) if kind == "LSTM" else (inputs[1],)
            output, final = reference(inputs[0], *state)
        expected = [output, *(final if kind == "LSTM" else (final,))]
        assert len(net.outputs) == len(expected)
        worst = 0.0
        for name, want in zip(net.outputs, expected):
            have = got[name].float()
            assert tuple(have.shape) == tuple(want.shape), (point, name)
            torch.testing.assert_close(have, want, atol=TOL[dtype], rtol=TOL[dtype])
            worst = max(worst, (have - want).abs().max().item())
        errors[point] = worst
    print(f"{kind} {options} state={with_state} {dtype}: max abs error " +
          ", ".join(f"{p} {e:.2e}" for p, e in errors.items()))
    return errors


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,with_state", [
    (1, False, False, False),
    (1, True, True, True),
    (2, False, True, False),
    (2, True, False, True),
    (2, True, True, False),
])
def test_matches_torch_at_min_opt_max(kind, num_layers, bidirectional, batch_first, with_state):
    check_at_three_points(kind, with_state=with_state, num_layers=num_layers, bidirectional=bidirectional,
                          batch_first=batch_first)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_fp16(kind):
    check_at_three_points(kind, dtype="float16", num_layers=2, bidirectional=True)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_without_bias(kind):
    check_at_three_points(kind, bias=False, with_state=True)


def test_lstm_projection():
    check_at_three_points("LSTM", proj_size=3, num_layers=2, bidirectional=True, with_state=True)


def unbatched(kind: str, batch_first: bool, build: bool) -> None:
    """A 2-D ``[T, features]`` input (a static batch of 1 inside) as torch: batch_first does not apply."""
    model, reference = twins(kind, num_layers=2, bidirectional=True, batch_first=batch_first)
    x = np.random.default_rng(2).standard_normal((7, INPUT)).astype(np.float32)
    net = trtnet.trace(model, [trtnet.Input("x", (-1, INPUT), min=(1, INPUT), opt=(7, INPUT), max=(9, INPUT))])
    if build:
        assert len(serialize(net, BuildConfig())) > 0
    got = execute(net.network, {"x": x})
    with torch.no_grad():
        output, final = reference(torch.from_numpy(x))
    for name, want in zip(net.outputs, [output, *(final if kind == "LSTM" else (final,))]):
        torch.testing.assert_close(got[name], want, atol=2e-5, rtol=2e-5)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input(kind, batch_first):
    unbatched(kind, batch_first, build=True)


def test_static_batch_of_one_with_state():
    """A static batch of 1 runs as two equal rows (TensorRT-RTX 1.7 takes minutes to build a loop over one row):
    h0/c0 given, the outputs are the first row."""
    model, reference = twins("LSTM", num_layers=2)
    x, h0, c0 = (np.random.default_rng(3).standard_normal(shape).astype(np.float32)
                 for shape in ((6, 1, INPUT), (2, 1, HIDDEN), (2, 1, HIDDEN)))
    net = trtnet.trace(_WithState(model), [trtnet.Input("x", x.shape), trtnet.Input("h", h0.shape),
                                           trtnet.Input("c", c0.shape)])
    assert len(serialize(net, BuildConfig())) > 0
    got = execute(net.network, {"x": x, "h": h0, "c": c0})
    with torch.no_grad():
        output, (h_n, c_n) = reference(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
    for name, want in zip(net.outputs, (output, h_n, c_n)):
        torch.testing.assert_close(got[name], want, atol=2e-5, rtol=2e-5)


def test_parameter_names_and_order_are_torchs():
    for kind, options in (("LSTM", dict(num_layers=2, bidirectional=True, proj_size=2)),
                          ("GRU", dict(num_layers=2, bias=False))):
        model, reference = twins(kind, **options)
        assert [k for k, _ in model.named_parameters()] == [k for k, _ in reference.named_parameters()]
        assert all(tuple(p.shape) == tuple(q.shape) for (_, p), (_, q) in
                   zip(model.named_parameters(), reference.named_parameters()))


def test_the_loop_layers():
    """One ILoop per layer and direction: a COUNT trip limit read from the runtime length, a reversed iterator for
    the backward direction, CONCATENATE/REVERSE for the outputs and LAST_VALUE for h_n and c_n."""
    model, _ = twins("LSTM", bidirectional=True)
    net = trtnet.trace(model, [trtnet.Input("x", (-1, 2, INPUT), min=(1, 2, INPUT), opt=(4, 2, INPUT),
                                            max=(8, 2, INPUT))])
    from trtnet import netinfo

    found = [(kind, netinfo.layer_attributes(layer)) for _, kind, layer in netinfo.layers(net.network)
             if kind in ("TRIP_LIMIT", "ITERATOR", "RECURRENCE", "LOOP_OUTPUT")]
    assert sorted({attributes["loop"] for _, attributes in found}) == ["lstm/loop_1", "lstm/loop_2"]
    assert [a["reverse"] for k, a in found if k == "ITERATOR"] == [False, True]
    assert [a["kind"] for k, a in found if k == "LOOP_OUTPUT"] == [
        "LoopOutput.CONCATENATE", "LoopOutput.LAST_VALUE", "LoopOutput.LAST_VALUE",
        "LoopOutput.REVERSE", "LoopOutput.LAST_VALUE", "LoopOutput.LAST_VALUE"]
    assert sum(k == "RECURRENCE" for k, _ in found) == 4


def _trace(model, *specs):
    return trtnet.trace(model, list(specs))


@pytest.mark.parametrize("build,error,match", [
    (lambda: _trace(_loaded("LSTM"), trtnet.Input("x", (2, 3, 4, INPUT))), ShapeError,
     "LSTM: Expected input to be 2D or 3D, got 4D instead"),
    (lambda: _trace(_loaded("GRU"), trtnet.Input("x", (2, 3, 4))), ShapeError,
     "input.size\\(-1\\) must be equal to input_size. Expected 5, got 4"),
    (lambda: nn.LSTM(INPUT, HIDDEN, proj_size=HIDDEN), TrtnetError, "proj_size has to be smaller than hidden_size"),
    (lambda: nn.GRU(INPUT, 0), TrtnetError, "hidden_size must be a positive integer"),
    (lambda: nn.LSTM(INPUT, HIDDEN, dropout=1.5), TrtnetError, "dropout should be a number in range"),
])
def test_bad_arguments(build, error, match):
    with pytest.raises(error, match=match):
        build()


class _WithState(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, *state):
        return self.rnn(x, state if len(state) == 2 else state[0])


def _loaded(kind, **options):
    model, _ = twins(kind, **options)
    return model


@pytest.mark.parametrize("model,state,match", [
    (lambda: _WithState(_loaded("GRU", num_layers=2)), (1, 3, HIDDEN), r"Expected hidden size \(2, 3, 6\), got \[1, 3, 6\]"),
    (lambda: _WithState(_loaded("GRU")), (3, HIDDEN), "For batched 3-D input, hidden should also be 3-D but got 2-D"),
])
def test_bad_initial_state(model, state, match):
    with pytest.raises(ShapeError, match=match) as caught:
        _trace(model(), trtnet.Input("x", (4, 3, INPUT)), trtnet.Input("h", state))
    assert "in:   rnn (GRU)" in str(caught.value)


def test_lstm_state_must_be_a_pair():
    with pytest.raises(TrtnetError, match=r"LSTM: hx must be a tuple \(h_0, c_0\)"):
        _trace(_WithState(_loaded("LSTM")), trtnet.Input("x", (4, 3, INPUT)), trtnet.Input("h", (1, 3, HIDDEN)))


def test_crnn_example_checks_three_widths(tmp_path):
    """examples/crnn_lstm.py: seeded weights saved to safetensors, one engine for widths 32..256 (8..64 LSTM steps),
    trtnet.check at min, opt and max against the torch twin."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "crnn_lstm.py"
    spec = importlib.util.spec_from_file_location("crnn_lstm", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    report = example.run(tmp_path)
    assert (tmp_path / "crnn_seeded.safetensors").stat().st_size > 0
    assert [p.label for p in report.points] == ["min", "opt", "max"]
    assert [p.outputs[0].actual_shape for p in report.points] == [(8, 1, 37), (32, 2, 37), (64, 4, 37)]
    assert report.passed and not report.warnings, report.warnings
    print("CRNN max abs error " + ", ".join(f"{p.label} {p.outputs[0].max_abs_err:.2e}" for p in report.points))
