"""ImageDataGenerator's iterators (flow, flow_from_directory, flow_from_dataframe) and the
image-file functions, over arrays and a temporary tree of PNG files written by the tests."""
import os

import numpy as np
import pytest

from graphc.preprocessing import image
from graphc.preprocessing.image import (ImageDataGenerator, array_to_img, img_to_array,
                                        load_img, save_img)
from graphc.utils import Sequence

needs_pillow = pytest.mark.skipif(image.pil_image is None,
                                  reason='image files need Pillow (pip install graphc[image])')

COLOURS = {'blue': (0, 0, 255), 'green': (0, 255, 0), 'red': (255, 0, 0)}


def _ids(n, size=2, channels=1):
    """Images whose every pixel holds the sample's index."""
    return np.arange(n, dtype='float32').reshape(n, 1, 1, 1) * np.ones((1, size, size,
                                                                         channels))


def _epoch_ids(seq):
    return np.concatenate([seq[i][1] for i in range(len(seq))])


# -- flow ------------------------------------------------------------------------------------

def test_flow_is_a_sequence_that_gives_each_sample_once_per_epoch():
    x = _ids(10)
    it = ImageDataGenerator().flow(x, np.arange(10), batch_size=3, shuffle=True, seed=4)
    assert isinstance(it, Sequence) and len(it) == 4
    orders = []
    for _ in range(3):
        batches = [it[i] for i in (2, 0, 3, 1)]          # any order of batch indices
        for bx, by in batches:
            np.testing.assert_array_equal(bx[:, 0, 0, 0], by)   # x stays with its y
        ids = np.concatenate([by for _, by in batches])
        assert sorted(ids.tolist()) == list(range(10))
        orders.append(_epoch_ids(it).tolist())
        it.on_epoch_end()
    assert orders[0] != orders[1] or orders[1] != orders[2]     # reshuffled per epoch


def test_flow_without_shuffle_keeps_order_and_seed_makes_runs_repeat():
    x = _ids(5)
    it = ImageDataGenerator().flow(x, np.arange(5), batch_size=2, shuffle=False)
    assert _epoch_ids(it).tolist() == [0, 1, 2, 3, 4]
    assert it[2][0].shape == (1, 2, 2, 1)          # the last batch is smaller
    gen = ImageDataGenerator(rotation_range=30, width_shift_range=0.3)
    data = np.random.RandomState(0).rand(6, 5, 5, 3).astype('float32')
    a = gen.flow(data, np.arange(6), batch_size=6, seed=7)[0][0]
    b = gen.flow(data, np.arange(6), batch_size=6, seed=7)[0][0]
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match='length'):
        it[3]


def test_flow_endless_iteration_loops_over_epochs():
    it = ImageDataGenerator().flow(_ids(5), np.arange(5), batch_size=2, shuffle=True, seed=1)
    ids = [next(it)[1].tolist() for _ in range(6)]
    first, second = ids[:3], ids[3:]
    assert sorted(sum(first, [])) == list(range(5)) == sorted(sum(second, []))
    assert [len(b) for b in ids] == [2, 2, 1, 2, 2, 1]


def test_flow_outputs_with_sample_weight_without_y_and_extra_inputs():
    gen = ImageDataGenerator()
    x, y, w = _ids(4), np.arange(4), np.array([1., 2., 3., 4.])
    bx, by, bw = gen.flow(x, y, sample_weight=w, batch_size=4, shuffle=False)[0]
    np.testing.assert_array_equal(bw, w)
    only_x = gen.flow(x, batch_size=4, shuffle=False)[0]
    assert isinstance(only_x, np.ndarray) and only_x.shape == (4, 2, 2, 1)
    extra = np.arange(4) * 10
    (bx, bextra), by = gen.flow([x, extra], y, batch_size=2, shuffle=True, seed=0)[0]
    np.testing.assert_array_equal(bextra, bx[:, 0, 0, 0] * 10)
    with pytest.raises(ValueError, match='same length'):
        gen.flow([x, extra[:3]], y)
    with pytest.raises(ValueError, match='same length'):
        gen.flow(x, y[:3])
    with pytest.raises(ValueError, match='sample_weight'):
        gen.flow(x, y, sample_weight=w[:2])
    with pytest.raises(ValueError, match='rank 4'):
        gen.flow(x[0], y[:2])


def test_flow_applies_augmentation_and_standardization():
    gen = ImageDataGenerator(horizontal_flip=True, rescale=0.5)
    x = np.zeros((1, 3, 3, 1), dtype='float32')
    x[0, :, 0, 0] = 8.
    seen = set()
    for seed in range(10):
        bx, _ = gen.flow(x, [0], batch_size=1, seed=seed)[0]
        assert bx.max() == 4.                       # rescaled
        seen.add(int(np.argmax(bx[0, 0, :, 0])))
    assert seen == {0, 2}                           # flipped about half the time


def test_flow_subsets_split_the_data():
    gen = ImageDataGenerator(validation_split=0.25)
    x = _ids(8)
    y = np.array([0, 1] * 4)
    val = gen.flow(x, y, subset='validation', shuffle=False, batch_size=8)[0][0]
    train = gen.flow(x, y, subset='training', shuffle=False, batch_size=8)[0][0]
    assert val[:, 0, 0, 0].tolist() == [0, 1]
    assert train[:, 0, 0, 0].tolist() == [2, 3, 4, 5, 6, 7]
    with pytest.raises(ValueError, match='different number of classes'):
        gen.flow(x, np.sort(y), subset='validation')
    with pytest.raises(ValueError, match='subset'):
        gen.flow(x, y, subset='test')


@needs_pillow
def test_flow_save_to_dir_writes_the_augmented_images(tmp_path):
    gen = ImageDataGenerator()
    x = np.random.RandomState(0).rand(3, 4, 4, 3).astype('float32')
    gen.flow(x, np.arange(3), batch_size=3, shuffle=False, save_to_dir=str(tmp_path),
             save_prefix='aug', save_format='png')[0]
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 3 and all(f.startswith('aug_') and f.endswith('.png') for f in files)
    back = img_to_array(load_img(str(tmp_path / files[0])))
    assert back.shape == (4, 4, 3)


# -- image files -----------------------------------------------------------------------------

@needs_pillow
def test_array_image_round_trips(tmp_path):
    rgb = np.random.RandomState(0).randint(0, 256, (5, 4, 3)).astype('float32')
    img = array_to_img(rgb, scale=False)
    assert img.mode == 'RGB' and img.size == (4, 5)
    np.testing.assert_array_equal(img_to_array(img), rgb)
    cf = img_to_array(img, data_format='channels_first')
    assert cf.shape == (3, 5, 4)
    np.testing.assert_array_equal(img_to_array(array_to_img(cf, data_format='channels_first',
                                                            scale=False)), rgb)
    gray = array_to_img(np.full((2, 2, 1), 7.), scale=False)
    assert gray.mode == 'L' and img_to_array(gray).shape == (2, 2, 1)
    assert array_to_img(np.zeros((2, 2, 4)), scale=False).mode == 'RGBA'
    assert array_to_img(np.full((2, 2, 1), 1000.), scale=False).mode == 'I'
    scaled = img_to_array(array_to_img(np.array([[[-1.], [1.]]])))
    np.testing.assert_array_equal(scaled[..., 0], [[0, 255]])
    with pytest.raises(ValueError, match='rank 3'):
        array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match='channel'):
        array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match='Unsupported image shape'):
        img_to_array(np.zeros((1, 2, 2, 3)))


@needs_pillow
def test_save_img_and_load_img(tmp_path):
    rgb = np.random.RandomState(1).randint(0, 256, (6, 8, 3)).astype('float32')
    path = str(tmp_path / 'a.png')
    save_img(path, rgb, scale=False)
    assert os.listdir(tmp_path) == ['a.png']       # no temporary file left behind
    np.testing.assert_array_equal(img_to_array(load_img(path)), rgb)
    gray = load_img(path, color_mode='grayscale')
    assert gray.mode == 'L'
    with pytest.warns(UserWarning, match='grayscale'):
        assert load_img(path, grayscale=True).mode == 'L'
    assert load_img(path, color_mode='rgba').mode == 'RGBA'
    small = load_img(path, target_size=(3, 4), interpolation='bilinear')
    assert small.size == (4, 3)
    np.testing.assert_array_equal(img_to_array(load_img(path, target_size=(3, 4))),
                                  rgb[1::2, 1::2])   # nearest: the pixel under each centre
    with pytest.raises(ValueError, match='color_mode'):
        load_img(path, color_mode='cmyk')
    with pytest.raises(ValueError, match='interpolation'):
        load_img(path, target_size=(2, 2), interpolation='cubic-ish')
    jpg = str(tmp_path / 'b.jpg')
    with pytest.warns(UserWarning, match='RGBA'):
        save_img(jpg, np.zeros((2, 2, 4)))
    assert load_img(jpg).size == (2, 2)


def test_image_files_need_pillow_with_a_clear_error(monkeypatch):
    monkeypatch.setattr(image, 'pil_image', None)
    with pytest.raises(ImportError, match=r'graphc\[image\]'):
        load_img('whatever.png')
    with pytest.raises(ImportError, match=r'graphc\[image\]'):
        array_to_img(np.zeros((2, 2, 3)))
    # the numpy side still works without Pillow
    ImageDataGenerator(horizontal_flip=True).flow(_ids(2), [0, 1])[0]


# -- flow_from_directory ---------------------------------------------------------------------

@pytest.fixture(scope='module')
def image_tree(tmp_path_factory):
    """<root>/{blue,green,red}/img_<k>.png: 4 solid-colour 6x5 images per class (plus a text
    file that must be ignored), and one nested subfolder image in 'red'."""
    root = tmp_path_factory.mktemp('images')
    for name, rgb in COLOURS.items():
        os.makedirs(root / name)
        for k in range(4):
            arr = np.ones((6, 5, 3)) * np.array(rgb) * (1 - 0.1 * k)
            save_img(str(root / name / f'img_{k}.png'), arr, scale=False)
        (root / name / 'notes.txt').write_text('not an image')
    os.makedirs(root / 'red' / 'more')
    save_img(str(root / 'red' / 'more' / 'img_9.png'), np.ones((6, 5, 3)) * [200, 0, 0],
             scale=False)
    return root


def _colour_class(batch_x):
    return np.argmax(batch_x.reshape(len(batch_x), -1, 3).mean(axis=1)[:, ::-1], axis=1)


@needs_pillow
def test_flow_from_directory_finds_classes_and_labels_match_images(image_tree, capsys):
    gen = ImageDataGenerator(rescale=1. / 255)
    it = gen.flow_from_directory(str(image_tree), target_size=(6, 5), batch_size=4,
                                 seed=0)
    assert 'Found 13 images belonging to 3 classes.' in capsys.readouterr().out
    assert it.class_indices == {'blue': 0, 'green': 1, 'red': 2}
    assert it.samples == 13 and len(it) == 4
    assert os.path.join('red', 'more', 'img_9.png') in it.filenames
    assert it.classes.tolist() == [0] * 4 + [1] * 4 + [2] * 5
    total = 0
    for i in range(len(it)):
        bx, by = it[i]
        assert bx.shape[1:] == (6, 5, 3) and by.shape[1] == 3
        assert bx.max() <= 1.0
        # blue is channel 2, green 1, red 0: reversed channel order gives the class index
        np.testing.assert_array_equal(_colour_class(bx), np.argmax(by, axis=1))
        total += len(bx)
    assert total == 13


@needs_pillow
@pytest.mark.parametrize('class_mode', ['binary', 'sparse', 'input', None])
def test_flow_from_directory_class_modes(image_tree, class_mode):
    gen = ImageDataGenerator()
    it = gen.flow_from_directory(str(image_tree), target_size=(3, 3), classes=['red', 'blue'],
                                 class_mode=class_mode, batch_size=9, shuffle=False)
    assert it.class_indices == {'red': 0, 'blue': 1}
    out = it[0]
    if class_mode is None:
        assert out.shape == (9, 3, 3, 3)
        return
    bx, by = out
    if class_mode == 'input':
        np.testing.assert_array_equal(by, bx)
    else:
        assert by.tolist() == [0] * 5 + [1] * 4
        assert by.dtype == (np.float32 if class_mode == 'binary' else np.int32)


@needs_pillow
def test_flow_from_directory_grayscale_channels_first_and_target_size(image_tree):
    gen = ImageDataGenerator(data_format='channels_first')
    it = gen.flow_from_directory(str(image_tree), target_size=(4, 7), color_mode='grayscale',
                                 batch_size=2)
    assert it[0][0].shape == (2, 1, 4, 7)
    rgba = ImageDataGenerator().flow_from_directory(str(image_tree), target_size=(2, 2),
                                                    color_mode='rgba', batch_size=2)
    assert rgba[0][0].shape == (2, 2, 2, 4)


@needs_pillow
def test_flow_from_directory_subsets_partition_each_class(image_tree):
    gen = ImageDataGenerator(validation_split=0.5)
    train = gen.flow_from_directory(str(image_tree), target_size=(2, 2), subset='training')
    val = gen.flow_from_directory(str(image_tree), target_size=(2, 2), subset='validation')
    assert val.samples == 2 + 2 + 2 and train.samples == 2 + 2 + 3
    assert not set(train.filenames) & set(val.filenames)
    assert sorted(train.filenames + val.filenames) == sorted(
        gen.flow_from_directory(str(image_tree), target_size=(2, 2)).filenames)


@needs_pillow
def test_flow_from_directory_follow_links(image_tree, tmp_path):
    root = tmp_path / 'linked'
    os.makedirs(root / 'a')
    save_img(str(root / 'a' / 'x.png'), np.zeros((2, 2, 3)))
    os.symlink(image_tree / 'green', root / 'a' / 'link')
    gen = ImageDataGenerator()
    assert gen.flow_from_directory(str(root), target_size=(2, 2)).samples == 1
    assert gen.flow_from_directory(str(root), target_size=(2, 2),
                                   follow_links=True).samples == 5


@needs_pillow
def test_flow_from_directory_errors(image_tree):
    gen = ImageDataGenerator()
    with pytest.raises(ValueError, match='class_mode'):
        gen.flow_from_directory(str(image_tree), class_mode='multi')
    with pytest.raises(ValueError, match='color mode'):
        gen.flow_from_directory(str(image_tree), color_mode='bgr')
    with pytest.raises(ValueError, match='not a folder'):
        gen.flow_from_directory(str(image_tree / 'nope'))
    with pytest.raises(ValueError, match='subset'):
        gen.flow_from_directory(str(image_tree), subset='all')


@needs_pillow
def test_flow_from_directory_save_to_dir(image_tree, tmp_path):
    out = tmp_path / 'out'
    os.makedirs(out)
    it = ImageDataGenerator().flow_from_directory(
        str(image_tree), target_size=(3, 3), batch_size=2, save_to_dir=str(out),
        save_prefix='d', save_format='jpeg')
    it[0]
    files = os.listdir(out)
    assert len(files) == 2 and all(f.startswith('d_') and f.endswith('.jpeg') for f in files)


# -- flow_from_dataframe ---------------------------------------------------------------------

@needs_pillow
def test_flow_from_dataframe(image_tree):
    pd = pytest.importorskip('pandas', reason='flow_from_dataframe takes a pandas DataFrame')
    df = pd.DataFrame({
        'filename': ['red/img_0.png', 'blue/img_1.png', 'green/img_2.png', 'red/img_1.png',
                     'missing.png', 'red/img_0.png'],
        'class': ['r', 'b', 'g', 'r', 'r', 'r'],
        'score': [1.5, 2.5, 3.5, 4.5, 5.5, 1.5],
    })
    gen = ImageDataGenerator(rescale=1. / 255)
    with pytest.warns(UserWarning, match='1 rows'):
        it = gen.flow_from_dataframe(df, str(image_tree), target_size=(3, 3), batch_size=8,
                                     shuffle=False)
    assert it.samples == 4                      # a duplicate and a missing file left out
    assert it.class_indices == {'b': 0, 'g': 1, 'r': 2}
    bx, by = it[0]
    np.testing.assert_array_equal(_colour_class(bx), np.argmax(by, axis=1))
    with pytest.warns(UserWarning):
        other = gen.flow_from_dataframe(df, str(image_tree), y_col='score', class_mode='other',
                                        target_size=(2, 2), shuffle=False)
    assert sorted(other[0][1].tolist()) == [1.5, 2.5, 3.5, 4.5]
    no_ext = pd.DataFrame({'filename': ['red/img_2', 'blue/img_3'], 'class': ['r', 'b']})
    it = gen.flow_from_dataframe(no_ext, str(image_tree), has_ext=False, target_size=(2, 2),
                                 class_mode='sparse', shuffle=False)
    assert it.filenames == ['blue/img_3.png', 'red/img_2.png']
    assert it[0][1].tolist() == [0, 1]
    with pytest.raises(ValueError, match='column'):
        gen.flow_from_dataframe(df, str(image_tree), y_col='label')


def test_generator_dtype_sets_the_batch_dtype():
    x, y = _ids(4), np.arange(4)
    assert ImageDataGenerator().flow(x, y, batch_size=4)[0][0].dtype == np.float32
    bx, _ = ImageDataGenerator(dtype='float64', rotation_range=10).flow(x, y, batch_size=4)[0]
    assert bx.dtype == np.float64
    assert ImageDataGenerator(dtype='float64').standardize(x[0]).dtype == np.float64
