"""Tests for playground.userdata: user drawings, clicks, images and files -> point clouds."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFile

from playground import userdata as ud
from playground.userdata import InputError

# ----------------------------------------------------------------------------- helpers


def png_bytes(img: Image.Image, **save_kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=save_kwargs.pop("format", "PNG"), **save_kwargs)
    return buf.getvalue()


def square_image(
    mode: str = "RGB", size=(100, 100), box=(20, 20, 39, 39), fg=(0, 0, 0), bg=(255, 255, 255)
):
    """A ``fg`` rectangle (inclusive pixel box) on ``bg``; 100x100 maps pixel p to (p-50)*0.08."""
    img = Image.new(mode, size, bg)
    ImageDraw.Draw(img).rectangle(box, fill=fg)
    return img


def assert_square(points: np.ndarray, x=(-2.4, -0.8), y=(0.8, 2.4), tol=1e-5):
    """Points uniform in [x0, x1] x [y0, y1]: bounds hold, mean is the centre, spread fills it."""
    assert points.dtype == np.float32 and points.ndim == 2 and points.shape[1] == 2
    assert points[:, 0].min() >= x[0] - tol and points[:, 0].max() <= x[1] + tol
    assert points[:, 1].min() >= y[0] - tol and points[:, 1].max() <= y[1] + tol
    np.testing.assert_allclose(points.mean(axis=0), [np.mean(x), np.mean(y)], atol=0.05)
    np.testing.assert_allclose(
        points.std(axis=0), [(x[1] - x[0]) / 12**0.5, (y[1] - y[0]) / 12**0.5], rtol=0.05
    )


def patch_ihdr(png: bytes, width: int, height: int) -> bytes:
    """Rewrite a PNG's declared size (IHDR is the first chunk, at byte 8) with a valid CRC."""
    body = struct.pack(">II", width, height) + png[24:29]
    chunk = b"IHDR" + body
    return png[:8] + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + png[33:]


def csv(text: str) -> bytes:
    return text.encode()


# ----------------------------------------------------------------------------- geometry basics


def test_canvas_to_box_keeps_aspect_and_flips_y():
    out = ud.canvas_to_box([[0, 0], [400, 200], [200, 100]], 400, 200)
    np.testing.assert_allclose(out, [[-4, 2], [4, -2], [0, 0]])
    out = ud.canvas_to_box([[0, 0]], 100, 200)  # tall canvas: height spans the box
    np.testing.assert_allclose(out, [[-2, 4]])
    with pytest.raises(InputError, match="positive"):
        ud.canvas_to_box([[0, 0]], 0, 10)


def test_validate_points_rejects_bad_shapes_and_values():
    assert ud.validate_points([[0, 0], [1, 1]]).dtype == np.float32
    for bad, words in [
        ([], "no points"),
        ([[1, 2, 3]], "pairs"),
        ([[0, 0]], "single point"),
        ([[1, 1]] * 5, "identical"),
        ([[0, 0], [np.nan, 1]], "point 2"),
        ([[0, 0], [1e39, 1]], "too large"),
        ([["a", "b"]], "not numbers"),
    ]:
        with pytest.raises(InputError, match=words):
            ud.validate_points(bad)
    assert ud.validate_points([[0, 0]], allow_single=True).shape == (1, 2)


# ----------------------------------------------------------------------------- strokes


def path_obj(cmds, **extra):
    return {"type": "Path", "path": cmds, **extra}


def test_horizontal_stroke_spreads_along_x_with_thickness_in_y():
    # from (100, 100) to (300, 100) on a 400x400 canvas: x in [-2, 2], y = 2
    drawing = {"objects": [path_obj([["M", 100, 100], ["Q", 150, 100, 200, 100], ["L", 300, 100]])]}
    res = ud.points_from_strokes(drawing, 400, 400, thickness=0.05)
    p = res.points
    assert p.dtype == np.float32 and len(p) >= 1000
    assert abs(p[:, 1].mean() - 2.0) < 0.01 and abs(p[:, 1].std() - 0.05) < 0.005
    assert -2.3 < p[:, 0].min() < -1.9 and 1.9 < p[:, 0].max() < 2.3
    assert (
        abs(p[:, 0].mean()) < 0.05 and abs(p[:, 0].std() - 4 / 12**0.5) < 0.05
    )  # uniform by length
    again = ud.points_from_strokes(drawing, 400, 400, thickness=0.05)
    np.testing.assert_array_equal(p, again.points)  # seeded


def test_fabric_placement_of_paths_lines_and_points():
    # A fresh fabric path: (left, top) is the top-left of its bbox grown by strokeWidth / 2.
    cmds = [["M", 100, 100], ["L", 300, 100]]
    fresh = path_obj(
        cmds, left=95, top=95, width=200, height=0, strokeWidth=10, originX="left", originY="top"
    )
    moved = dict(fresh, left=145)  # dragged 50 px right -> +1 box unit
    p0 = ud.points_from_strokes({"objects": [fresh]}, 400, 400, thickness=0.0).points
    p1 = ud.points_from_strokes({"objects": [moved]}, 400, 400, thickness=0.0).points
    np.testing.assert_allclose(
        [p0[:, 0].min(), p0[:, 0].max(), p0[:, 1].mean()], [-2, 2, 2], atol=0.01
    )
    np.testing.assert_allclose(p1 - p0, np.tile([1.0, 0.0], (len(p0), 1)), atol=1e-4)
    # fabric Line (line tool): origin centre, endpoints relative to the centre
    line = {
        "type": "Line",
        "left": 200,
        "top": 300,
        "x1": -100,
        "y1": 0,
        "x2": 100,
        "y2": 0,
        "width": 200,
        "height": 0,
        "strokeWidth": 5,
        "originX": "center",
        "originY": "center",
    }
    p = ud.points_from_strokes({"objects": [line]}, 400, 400, thickness=0.0).points
    np.testing.assert_allclose(
        [p[:, 0].min(), p[:, 0].max(), p[:, 1].min(), p[:, 1].max()], [-2, 2, -2, -2], atol=0.01
    )

    # point mode: centre x = left + radius + strokeWidth / 2, y = top
    def dot(x, y, r=3, sw=2):
        return {
            "type": "Circle",
            "left": x - r - sw / 2,
            "top": y,
            "radius": r,
            "width": 2 * r,
            "height": 2 * r,
            "strokeWidth": sw,
            "originX": "left",
            "originY": "center",
        }

    p = ud.points_from_strokes(
        {"objects": [dot(100, 100), dot(300, 300)]}, 400, 400, thickness=0.0
    ).points
    assert {tuple(q) for q in np.round(p, 5)} == {(-2.0, 2.0), (2.0, -2.0)}
    p = ud.points_from_strokes(
        {"objects": [dot(100, 100), dot(300, 300)]}, 400, 400, thickness=0.1
    ).points
    upper = p[p[:, 1] > 0]
    assert 0.4 < len(upper) / len(p) < 0.6 and np.allclose(upper.mean(axis=0), [-2, 2], atol=0.02)


def test_repeated_points_and_subpaths_in_a_stroke():
    cmds = [["M", 0, 200], ["L", 0, 200], ["L", 400, 200], ["L", 400, 200], ["M", 200, 0]]
    res = ud.points_from_strokes({"objects": [path_obj(cmds)]}, 400, 400, thickness=0.0)
    assert np.isfinite(res.points).all() and "1 stroke(s) and 1 dot(s)" in res.notes[-1]
    on_line = np.abs(res.points[:, 1]) < 1e-6
    assert np.allclose(res.points[~on_line], [0.0, 4.0]) and 0.85 < on_line.mean() < 0.98


def test_strokes_report_unsupported_objects_and_cap():
    drawing = {"objects": [path_obj([["M", 0, 0], ["L", 400, 400]]), {"type": "image"}]}
    res = ud.points_from_strokes(drawing, 400, 400, thickness=0.01, max_points=1500)
    assert len(res.points) == 1500 and any("image" in n for n in res.notes)


@pytest.mark.parametrize(
    "data", [None, {}, {"objects": []}, {"objects": [{"type": "image"}]}, {"objects": "x"}]
)
def test_empty_canvas_is_rejected(data):
    with pytest.raises(InputError, match="canvas is empty"):
        ud.points_from_strokes(data, 400, 400, thickness=0.05)


def test_single_point_drawing_is_rejected():
    click = path_obj([["M", 10, 10], ["L", 10, 10]])
    for objs in ([click], [click, dict(click)]):
        with pytest.raises(InputError, match="single point"):
            ud.points_from_strokes({"objects": objs}, 400, 400, thickness=0.05)
    with pytest.raises(InputError, match="thickness"):
        ud.points_from_strokes({"objects": [click]}, 400, 400, thickness=-1)


# ----------------------------------------------------------------------------- clicks


def test_clicks():
    assert ud.points_from_clicks([(1.0, -2.0)]).points.tolist() == [[1.0, -2.0]]
    for bad, words in [
        ([], "click at least one"),
        ([(0.0, float("nan"))], "NaN"),
        ([(5.0, 0.0)], "outside"),
    ]:
        with pytest.raises(InputError, match=words):
            ud.points_from_clicks(bad)


# ----------------------------------------------------------------------------- images


def test_black_square_on_white_is_uniform_and_right_way_up():
    res = ud.points_from_image(png_bytes(square_image()))
    assert len(res.points) == ud.MAX_POINTS and res.notes
    assert_square(res.points)  # the square is in the top-left quarter: x < 0, y > 0


def test_wide_image_keeps_aspect_and_top_half_is_positive_y():
    img = square_image(size=(200, 100), box=(0, 0, 199, 49))  # top half black, scale 8/200
    p = ud.points_from_image(png_bytes(img), max_points=5000).points
    assert_square(p, x=(-4, 4), y=(0, 2))


def test_opaque_shape_on_transparent_background():
    img = square_image("RGBA", fg=(0, 0, 0, 255), bg=(255, 255, 255, 0))
    assert_square(ud.points_from_image(png_bytes(img)).points)
    img = square_image("RGBA", fg=(255, 255, 255, 255), bg=(0, 0, 0, 0))  # white shape: invert
    assert_square(ud.points_from_image(png_bytes(img), invert=True).points)


def test_threshold_and_contrast():
    img = square_image("L", fg=100, bg=255)  # density 0.61
    assert_square(ud.points_from_image(png_bytes(img), threshold=0.5).points)
    with pytest.raises(InputError, match="threshold"):
        ud.points_from_image(png_bytes(img), threshold=0.5, contrast=2.0)  # 0.61**2 = 0.37
    for kw in ({"threshold": 2.0}, {"contrast": 0.0}):
        with pytest.raises(InputError):
            ud.points_from_image(png_bytes(img), **kw)


@pytest.mark.parametrize(
    "mode,fg,bg",
    [
        ("I;16", 0, 65535),  # 16-bit grey
        ("1", 0, 1),  # bilevel
        ("LA", (0, 255), (255, 255)),
    ],
)
def test_other_png_modes_work(mode, fg, bg):
    img = square_image(mode, fg=fg, bg=bg)
    data = png_bytes(img)
    assert Image.open(io.BytesIO(data)).mode in (mode, "I", "I;16")
    assert_square(ud.points_from_image(data).points)


def test_palette_png_with_transparency():
    img = square_image("P", fg=1, bg=0)
    img.putpalette([255, 0, 0, 0, 0, 0] + [0] * 762)  # index 0 red (transparent), 1 black
    data = png_bytes(img, transparency=0)
    assert Image.open(io.BytesIO(data)).mode == "P"
    assert_square(ud.points_from_image(data).points)


def test_cmyk_jpeg():
    img = square_image("CMYK", fg=(0, 0, 0, 255), bg=(0, 0, 0, 0))
    data = png_bytes(img, format="JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    assert_square(ud.points_from_image(data).points, tol=0.1)


def test_jpeg_exif_rotation_is_applied():
    exif = Image.Exif()
    exif[0x0112] = 3  # stored upside down: displayed rotated by 180 degrees
    data = png_bytes(square_image(), format="JPEG", quality=95, exif=exif.tobytes())
    p = ud.points_from_image(data).points
    assert_square(p, x=(0.8, 2.4), y=(-2.4, -0.8), tol=0.1)


@pytest.mark.parametrize(
    "img,words",
    [
        (Image.new("RGB", (50, 40), "white"), "no dark"),
        (Image.new("RGBA", (50, 40), (0, 0, 0, 0)), "no dark"),  # black but fully transparent
        (Image.new("L", (50, 40), 200), "threshold"),
    ],
)
def test_blank_images_are_rejected(img, words):
    with pytest.raises(InputError, match=words):
        ud.points_from_image(png_bytes(img))


def test_broken_image_files_are_rejected(tmp_path):
    rng = np.random.default_rng(0)
    noisy = png_bytes(Image.fromarray(rng.integers(0, 255, (200, 200, 3), dtype=np.uint8)))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    cases = [
        (b"", "empty"),
        (noisy[: len(noisy) // 2], "truncated"),
        (b"x,y\n1,2\n", "not a PNG or JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "not a PNG or JPEG"),
        (png_bytes(square_image(), format="GIF"), "not a PNG or JPEG"),
        (png_bytes(square_image(), format="BMP"), "not a PNG or JPEG"),
        (b"\x89PNG" + b"\0" * ud.MAX_UPLOAD_BYTES, "limit is 5 MiB"),
    ]
    for data, words in cases:
        with pytest.raises(InputError, match=words):
            ud.points_from_image(data)
    text_png = tmp_path / "notes.png"
    text_png.write_text("hello, I am not an image")
    with pytest.raises(InputError, match="not a PNG or JPEG"):
        ud.load_points_file(text_png)


def test_animated_images_are_rejected():
    frames = [square_image(), square_image(box=(60, 60, 80, 80))]
    gif = png_bytes(frames[0], format="GIF", save_all=True, append_images=frames[1:])
    apng = png_bytes(frames[0], save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(apng)).n_frames == 2
    with pytest.raises(InputError, match="not a PNG or JPEG"):
        ud.points_from_image(gif)
    with pytest.raises(InputError, match="animated"):
        ud.points_from_image(apng)


@pytest.mark.parametrize("w,h", [(100_000, 100_000), (3000, 3000), (ud.MAX_IMAGE_PIXELS + 1, 1)])
def test_decompression_bomb_is_rejected_before_decoding(w, h):
    data = patch_ihdr(png_bytes(Image.new("L", (4, 4), 0)), w, h)
    assert len(data) < 200  # a tiny file that declares w x h pixels
    if w * h < Image.MAX_IMAGE_PIXELS:  # below PIL's own limit: our check must catch it
        assert Image.open(io.BytesIO(data)).size == (w, h)
    with pytest.raises(InputError, match="too large"):
        ud.points_from_image(data)


# ----------------------------------------------------------------------------- CSV, .npy, files


def test_csv_round_trip_is_exact():
    pts = np.random.default_rng(1).uniform(-4, 4, (500, 2)).astype(np.float32)
    data = ud.points_to_csv(pts)
    assert data.startswith(b"x,y\n")
    back = ud.points_from_csv(data)
    np.testing.assert_array_equal(back.points, pts)
    assert back.notes == ["header: x,y"]


@pytest.mark.parametrize(
    "text",
    [
        "0,0\n1,2\n",
        "x;y\n0;0\n1;2\n",
        "0\t0\n1\t2\n",
        "# c\n\n 0  0\n1 2\n",
        "\ufeffa,b\r\n0,0\r\n1,2\r\n",
    ],
)
def test_csv_dialects(text):
    np.testing.assert_array_equal(ud.points_from_csv(csv(text)).points, [[0, 0], [1, 2]])


def test_csv_rescale_and_box_check():
    data = csv("x,y\n100,10\n300,20\n200,50\n")
    with pytest.raises(InputError, match="outside the box.*rescale"):
        ud.points_from_csv(data)
    res = ud.points_from_csv(data, rescale=True)
    p = res.points
    assert any("rescaled" in n for n in res.notes)
    np.testing.assert_allclose(
        [p[:, 0].min(), p[:, 0].max()], [-3.6, 3.6], atol=1e-5
    )  # longer side fills 90%
    np.testing.assert_allclose(
        p[:, 1].max() - p[:, 1].min(), 40 * 7.2 / 200, atol=1e-5
    )  # same scale
    np.testing.assert_allclose(p[:, 1].min() + p[:, 1].max(), 0.0, atol=1e-5)  # centred


def test_csv_thinning_is_deterministic_with_a_note():
    pts = np.random.default_rng(2).uniform(-1, 1, (3000, 2)).astype(np.float32)
    data = ud.points_to_csv(pts)
    a = ud.points_from_csv(data, max_points=1000)
    b = ud.points_from_csv(data, max_points=1000)
    assert a.points.shape == (1000, 2) and np.array_equal(a.points, b.points)
    assert "thinned from 3,000 to 1,000 points" in a.notes
    assert set(map(tuple, a.points)) <= set(map(tuple, pts))


@pytest.mark.parametrize(
    "text,words",
    [
        ("", "empty"),
        ("x,y\n", "no data rows"),
        ("x,y\n1,2\nfoo,3\n", "line 3: 'foo' is not a number"),
        ("1,2\n3,nan\n", "line 2.*NaN"),
        ("1,2\n3,inf\n", "line 2.*infinite"),
        ("1,2\n3,1e40\n", "too large"),
        ("1\n2\n3\n", "line 1: expected 2 columns.*found 1"),
        ("1,2,3\n4,5,6\n", "expected 2 columns.*found 3"),
        ("1,2\n3,4,5\n", "line 2: expected 2 columns"),
        ("1,2\n", "only 1 row"),
        ("1,2\n1,2\n1,2\n", "identical"),
    ],
)
def test_bad_csv_is_rejected(text, words):
    with pytest.raises(InputError, match=words):
        ud.points_from_csv(csv(text))


def test_csv_other_rejections(monkeypatch):
    with pytest.raises(InputError, match="UTF-8"):
        ud.points_from_csv(b"\xff\xfe1,2\n")
    with pytest.raises(InputError, match="limit"):
        ud.points_from_csv(b"1,2\n" * (ud.MAX_UPLOAD_BYTES // 4 + 1))
    monkeypatch.setattr(ud, "MAX_CSV_ROWS", 10)
    assert (
        len(
            ud.points_from_csv(
                csv("x,y\n" + "".join(f"{i},0\n" for i in range(4)) * 2 + "1,1\n1,1\n")
            ).points
        )
        == 10
    )
    with pytest.raises(InputError, match="more than 10 rows"):
        ud.points_from_csv(csv("".join(f"0,{i / 10}\n" for i in range(11))))


def test_load_points_file(tmp_path):
    pts = np.array([[0.0, 1.0], [2.0, -3.0], [0.5, 0.5]], dtype=np.float32)
    (tmp_path / "a.csv").write_bytes(ud.points_to_csv(pts))
    (tmp_path / "a.txt").write_text("0 1\n2 -3\n0.5 0.5\n")
    np.save(tmp_path / "a.npy", pts)
    np.save(tmp_path / "big.npy", pts * 10)
    (tmp_path / "a.png").write_bytes(png_bytes(square_image()))
    for name in ("a.csv", "a.txt", "a.npy"):
        np.testing.assert_array_equal(ud.load_points_file(tmp_path / name).points, pts)
    assert ud.load_points_file(str(tmp_path / "big.npy"), rescale=True).points.shape == (3, 2)
    assert_square(ud.load_points_file(tmp_path / "a.png", max_points=5000).points)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    np.save(tmp_path / "row.npy", np.zeros(4))
    for name, words in [
        ("missing.csv", "no such file.*missing.csv"),
        ("a.json", "unknown file type.*\\.png.*\\.npy"),
        ("obj.npy", "npy"),
        ("row.npy", "pairs"),
        ("big.npy", "rescale"),
    ]:
        if name == "a.json":
            (tmp_path / name).write_text("{}")
        with pytest.raises(InputError, match=words):
            ud.load_points_file(tmp_path / name)
    with pytest.raises(InputError, match="bad option"):
        ud.load_points_file(tmp_path / "a.csv", threshold=0.3)
