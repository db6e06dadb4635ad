"""The Keras 2 spellings of the preprocessing imports work with graphc in place of keras."""
import subprocess
import sys


def test_keras2_import_spellings():
    from graphc.preprocessing import image, sequence, text
    from graphc.preprocessing.image import ImageDataGenerator
    from graphc.preprocessing.sequence import pad_sequences
    from graphc.preprocessing.text import Tokenizer
    assert image.ImageDataGenerator is ImageDataGenerator
    assert sequence.pad_sequences is pad_sequences and text.Tokenizer is Tokenizer
    import graphc.preprocessing as pre
    assert pre.image is image and {'image', 'sequence', 'text'} <= set(dir(pre))


def test_graphc_preprocessing_is_an_attribute_of_graphc_loaded_on_first_use():
    code = ('import sys, graphc; print("graphc.preprocessing" in sys.modules, '
            '"preprocessing" in dir(graphc), '
            'graphc.preprocessing.sequence.pad_sequences([[1]], maxlen=2).tolist())')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == 'False True [[0, 1]]'


def test_importing_graphc_preprocessing_does_not_import_scipy_ndimage():
    code = ('import sys, graphc.preprocessing.sequence, graphc.preprocessing.text; '
            'print("scipy.ndimage" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == 'False'
