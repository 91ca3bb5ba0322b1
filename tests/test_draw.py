"""``trtnet draw`` and ``trtnet check --html``: Graphviz lays the network out, headless Chromium renders the page
offline, the picture has one node per layer, and a check colors the first divergence red."""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
import zlib
from pathlib import Path

import numpy as np
import pytest

import trtnet
from trtnet import draw, inspection
from trtnet.cli import main

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DIGITS_WEIGHTS = str(REPO / "weights" / "digits.safetensors")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FAIL_RED = (0xE8, 0x50, 0x5B)
_PASS_SHADE = draw._color(draw.ModuleError(0.0, True, ""))  # far within tolerance

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed (apt-get install graphviz)")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")


def _screenshot(page: Path, out: Path, size: str = "800,1000") -> np.ndarray:
    """Headless Chromium's screenshot of ``page`` as an RGB array (height, width, 3)."""
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={size}", f"--screenshot={out}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    return _read_png(out.read_bytes())


def _read_png(data: bytes) -> np.ndarray:
    """A non-interlaced 8-bit RGB/RGBA PNG (what Chromium writes) decoded with zlib."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    offset, chunks, header = 8, [], None
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    image = np.zeros((height, stride), np.int32)
    previous = np.zeros(stride, np.int32)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if kind == 0:
            current = line
        elif kind == 2:
            current = (line + previous) & 255
        else:  # Sub, Average, Paeth depend on the pixel to the left: per pixel
            current = np.zeros(stride, np.int32)
            for x in range(stride):
                left = current[x - channels] if x >= channels else 0
                up, up_left = previous[x], previous[x - channels] if x >= channels else 0
                if kind == 1:
                    predictor = left
                elif kind == 3:
                    predictor = (left + up) // 2
                else:
                    p = left + up - up_left
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                    predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                current[x] = (line[x] + predictor) & 255
        image[y], previous = current, current
    return image.reshape(height, width, channels)[:, :, :3].astype(np.uint8)


def _resnet18_listing() -> dict:
    torch = pytest.importorskip("torch")
    from models import resnet, resnet_torch

    torch.manual_seed(0)
    model = resnet.resnet18()
    model.load_state_dict({k: v.numpy() for k, v in resnet_torch.resnet18().state_dict().items()})
    net = trtnet.trace(model, [trtnet.Input("input", (1, 3, 64, 64))], log_level="error")
    return inspection.inspect_network(model, net, "resnet18")


@needs_dot
def test_svg_has_one_node_per_layer_grouped_by_module(tmp_path: Path) -> None:
    listing = _resnet18_listing()
    draw.write(listing, str(tmp_path / "net.svg"))
    svg = ElementTree.parse(tmp_path / "net.svg").getroot()
    groups = [g for g in svg.iter("{http://www.w3.org/2000/svg}g")]
    layers = [g for g in groups if "layer" in g.get("class", "").split()]
    assert len(layers) == listing["totals"]["layers"]
    clusters = {g.get("class") for g in groups if g.get("class", "").startswith("cluster")}
    for module in ("layer1", "layer1.0", "layer4.1", "layer2.0.downsample"):
        assert any(draw._css_class(module) in c.split() for c in clusters), module
    texts = [" ".join(t.text or "" for t in g.iter("{http://www.w3.org/2000/svg}text")) for g in layers]
    assert sum(t.startswith("CONVOLUTION") for t in texts) == 20
    assert any("CONVOLUTION" in t and "1x64x32x32" in t for t in texts)  # conv1's output shape


@needs_dot
def test_html_is_one_self_contained_page(tmp_path: Path) -> None:
    page = tmp_path / "net.html"
    assert main(["draw", str(REPO / "models" / "digits.py") + ":digits", "--weights", DIGITS_WEIGHTS,
                 "-o", str(page)]) == 0
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", text)  # nothing to fetch: opens offline
    assert text.count("<svg") == 1 and "<script>" in text
    assert len(re.findall(r'<g id="node\d+" class="node layer', text)) == 17


@needs_dot
@needs_chromium
def test_check_html_marks_the_first_divergence_red(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("torch")
    page = tmp_path / "check.html"
    code = main(["check", str(REPO / "tests" / "fixtures" / "planted.py") + ":digits_relu_as_identity",
                 "--weights", DIGITS_WEIGHTS, "--reference", str(REPO / "models" / "digits_torch.py") + ":digits",
                 "--layerwise", "--html", str(page)])
    assert code == 1
    assert "FIRST DIVERGENCE: features.2" in capsys.readouterr().out
    text = html.unescape(page.read_text())  # Graphviz writes "-" in attributes as &#45;
    marked = re.findall(r'<g id="node\d+" class="node ([^"]*first-divergence[^"]*)">\s*<title>[^<]*</title>\s*'
                        r'<g id="a_node\d+"><a xlink:title="([^"]*)">', text)
    assert len(marked) == 1 and "features.1" in marked[0][1], marked  # the tensor features.2 passed on
    assert "first divergence: features.2" in text
    assert len(re.findall(r'<g id="node\d+" class="node layer', text)) == 16  # the port has no ReLU layer
    pixels = _screenshot(page, tmp_path / "check.png")  # rendered offline by headless Chromium
    ink = (pixels < 200).any(axis=2).mean()
    assert ink > 0.02, f"only {ink:.1%} of the screenshot is drawn"
    red = (np.abs(pixels.astype(int) - FAIL_RED).sum(axis=2) <= 6).sum()
    assert red > 1000, f"{red} red pixels: the failing layer is not drawn red"
    passing = np.array([int(_PASS_SHADE[i:i + 2], 16) for i in (1, 3, 5)])
    green = (np.abs(pixels.astype(int) - passing).sum(axis=2) <= 6).sum()
    assert green > 10 * 1000, f"{green} pixels of the far-within-tolerance shade: the passing layers are not drawn"


def test_missing_graphviz_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    code = main(["draw", str(REPO / "models" / "digits.py") + ":digits", "--weights", DIGITS_WEIGHTS,
                 "-o", str(tmp_path / "net.html")])
    assert code == 2
    assert "drawing needs Graphviz's `dot` program" in capsys.readouterr().err
    assert not (tmp_path / "net.html").exists()
