import hashlib
import io
import os
import socket
import tarfile
import threading
import zipfile

import pytest

from graphc.utils import Sequence, get_file
from graphc.utils.data_utils import (ChecksumError, DownloadError, _extract_archive, _hash_file,
                                     validate_file)

PAYLOAD = bytes(range(256)) * 1000  # 256 kB, several read chunks


def sha256(data):
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def served(file_server):
    file_server.files['/data.bin'] = PAYLOAD
    return file_server


def test_download_goes_to_home_datasets(served, graphc_home, capsys):
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert path == os.path.join(str(graphc_home), 'datasets', 'data.bin')
    assert open(path, 'rb').read() == PAYLOAD
    assert not os.path.exists(path + '.part')
    out = capsys.readouterr().out
    assert 'Downloading data from ' + served.url('data.bin') in out
    assert f'{len(PAYLOAD)}/{len(PAYLOAD)} [' in out  # the final progress line


def test_cache_dir_and_subdir_override_home(served, graphc_home, tmp_path):
    path = get_file('data.bin', origin=served.url('data.bin'), cache_subdir='sub',
                    cache_dir=str(tmp_path / 'elsewhere'))
    assert path == str(tmp_path / 'elsewhere' / 'sub' / 'data.bin')
    assert open(path, 'rb').read() == PAYLOAD


@pytest.mark.parametrize('kwargs', [
    {'file_hash': hashlib.md5(PAYLOAD).hexdigest()},
    {'md5_hash': hashlib.md5(PAYLOAD).hexdigest()},
    {'file_hash': sha256(PAYLOAD), 'hash_algorithm': 'sha256'},
    {'file_hash': sha256(PAYLOAD).upper()},
])
def test_checksum_pass(served, graphc_home, kwargs):
    path = get_file('data.bin', origin=served.url('data.bin'), **kwargs)
    assert open(path, 'rb').read() == PAYLOAD


def test_checksum_mismatch_names_file_and_both_hashes(served, graphc_home):
    wrong = '0' * 64
    with pytest.raises(ChecksumError) as err:
        get_file('data.bin', origin=served.url('data.bin'), file_hash=wrong)
    message = str(err.value)
    final = os.path.join(str(graphc_home), 'datasets', 'data.bin')
    assert final in message and wrong in message and sha256(PAYLOAD) in message
    assert served.url('data.bin') in message
    assert not os.path.exists(final) and not os.path.exists(final + '.part')


def test_cache_hit_makes_no_request(served, graphc_home):
    first = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    second = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert first == second
    assert served.count('data.bin') == 1
    get_file('data.bin', origin=served.url('data.bin'))  # no hash: the cached file is used
    assert served.count('data.bin') == 1


def test_concurrent_calls_download_once(served, graphc_home):
    results, errors = [], []

    def fetch():
        try:
            results.append(get_file('data.bin', origin=served.url('data.bin'),
                                    file_hash=sha256(PAYLOAD)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=fetch) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1
    assert open(results[0], 'rb').read() == PAYLOAD
    assert served.count('data.bin') == 1
    assert sorted(os.listdir(os.path.dirname(results[0]))) == ['.data.bin.lock', 'data.bin']


def test_cached_file_with_wrong_hash_is_downloaded_again(served, graphc_home, capsys):
    final = graphc_home / 'datasets' / 'data.bin'
    final.parent.mkdir(parents=True)
    final.write_bytes(b'stale contents')
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert served.count('data.bin') == 1
    assert 'does not match' in capsys.readouterr().out


def test_partial_file_is_resumed_with_range(served, graphc_home):
    final = graphc_home / 'datasets' / 'data.bin'
    final.parent.mkdir(parents=True)
    (final.parent / 'data.bin.part').write_bytes(PAYLOAD[:100000])
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert served.requests == [('/data.bin', 'bytes=100000-')]
    assert served.sent == [('/data.bin', len(PAYLOAD) - 100000)]
    assert not os.path.exists(str(final) + '.part')


def test_server_ignoring_range_restarts_the_download(served, graphc_home):
    served.ignore_range = True
    final = graphc_home / 'datasets' / 'data.bin'
    final.parent.mkdir(parents=True)
    (final.parent / 'data.bin.part').write_bytes(b'x' * 5000)
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert served.sent == [('/data.bin', len(PAYLOAD))]


def test_partial_file_longer_than_remote_restarts(served, graphc_home):
    final = graphc_home / 'datasets' / 'data.bin'
    final.parent.mkdir(parents=True)
    (final.parent / 'data.bin.part').write_bytes(PAYLOAD + b'extra')
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert [r for _, r in served.requests] == ['bytes=%d-' % (len(PAYLOAD) + 5), None]


def test_corrupt_partial_file_is_detected_and_fetched_again(served, graphc_home):
    final = graphc_home / 'datasets' / 'data.bin'
    final.parent.mkdir(parents=True)
    (final.parent / 'data.bin.part').write_bytes(b'\xff' * 1000)  # not the file's first bytes
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert [r for _, r in served.requests] == ['bytes=1000-', None]


def test_interrupted_download_leaves_no_file_and_resumes(served, graphc_home):
    served.cut_after['/data.bin'] = 70000
    final = os.path.join(str(graphc_home), 'datasets', 'data.bin')
    with pytest.raises(DownloadError) as err:
        get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert '70000' in str(err.value) and final + '.part' in str(err.value)
    assert not os.path.exists(final)
    assert open(final + '.part', 'rb').read() == PAYLOAD[:70000]

    del served.cut_after['/data.bin']
    get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(final, 'rb').read() == PAYLOAD
    assert served.requests[-1] == ('/data.bin', 'bytes=70000-')


def _closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_unreachable_origin_names_url_and_cache_path(graphc_home):
    origin = f'http://127.0.0.1:{_closed_port()}/mnist.npz'
    with pytest.raises(DownloadError) as err:
        get_file('mnist.npz', origin=origin)
    message = str(err.value)
    final = os.path.join(str(graphc_home), 'datasets', 'mnist.npz')
    assert origin in message and final in message and 'by hand' in message
    assert not os.path.exists(final)


def test_unreachable_origin_with_stale_cached_file_says_why_it_was_not_used(graphc_home):
    final = graphc_home / 'datasets' / 'mnist.npz'
    final.parent.mkdir(parents=True)
    final.write_bytes(b'some other file')
    origin = f'http://127.0.0.1:{_closed_port()}/mnist.npz'
    with pytest.raises(DownloadError) as err:
        get_file('mnist.npz', origin=origin, file_hash=sha256(PAYLOAD))
    message = str(err.value)
    assert 'was not used' in message and sha256(b'some other file') in message
    assert sha256(PAYLOAD) in message and origin in message
    assert final.read_bytes() == b'some other file'  # left as it was


def test_http_error_names_url_and_status(served, graphc_home):
    with pytest.raises(DownloadError, match='404') as err:
        get_file('missing.bin', origin=served.url('missing.bin'))
    assert served.url('missing.bin') in str(err.value)


def test_bad_hash_algorithm_lists_choices(graphc_home):
    with pytest.raises(ValueError, match="auto, sha256, md5"):
        get_file('x', origin='http://127.0.0.1:1/x', file_hash='ab', hash_algorithm='sha1')


def _tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_untar_extracts_and_returns_the_folder(file_server, graphc_home):
    archive = _tar_gz({'pkg/a.txt': b'alpha', 'pkg/sub/b.txt': b'beta'})
    file_server.files['/pkg.tar.gz'] = archive
    path = get_file('pkg', origin=file_server.url('pkg.tar.gz'), untar=True,
                    file_hash=sha256(archive))
    assert path == os.path.join(str(graphc_home), 'datasets', 'pkg')
    assert open(os.path.join(path, 'sub', 'b.txt'), 'rb').read() == b'beta'
    assert os.path.exists(path + '.tar.gz')
    assert not [n for n in os.listdir(os.path.dirname(path)) if n.startswith('.tmp')]
    get_file('pkg', origin=file_server.url('pkg.tar.gz'), untar=True, file_hash=sha256(archive))
    assert file_server.count('pkg.tar.gz') == 1


def test_extract_zip(file_server, graphc_home):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w') as z:
        z.writestr('folder/c.txt', b'gamma')
    file_server.files['/z.zip'] = buf.getvalue()
    path = get_file('z.zip', origin=file_server.url('z.zip'), extract=True)
    assert path.endswith('z.zip')
    assert open(os.path.join(os.path.dirname(path), 'folder', 'c.txt'), 'rb').read() == b'gamma'


def test_extract_refuses_members_outside_the_folder(tmp_path):
    archive = tmp_path / 'evil.tar.gz'
    archive.write_bytes(_tar_gz({'../escaped.txt': b'x'}))
    dest = tmp_path / 'dest'
    with pytest.raises(tarfile.TarError):
        _extract_archive(str(archive), str(dest))
    assert not (tmp_path / 'escaped.txt').exists()
    assert os.listdir(dest) == []


def test_extract_of_a_non_archive_is_an_error(file_server, graphc_home):
    file_server.files['/plain.txt'] = b'not an archive'
    with pytest.raises(ValueError, match='not an archive'):
        get_file('plain.txt', origin=file_server.url('plain.txt'), extract=True)


def test_hash_helpers_match_hashlib(tmp_path):
    f = tmp_path / 'f.bin'
    f.write_bytes(PAYLOAD)
    assert _hash_file(str(f)) == sha256(PAYLOAD)
    assert _hash_file(str(f), 'md5') == hashlib.md5(PAYLOAD).hexdigest()
    assert validate_file(str(f), hashlib.md5(PAYLOAD).hexdigest())
    assert validate_file(str(f), sha256(PAYLOAD))
    assert not validate_file(str(f), sha256(b'other'))


class _Squares(Sequence):
    def __init__(self):
        self.epochs = 0

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return index * index

    def on_epoch_end(self):
        self.epochs += 1


def test_sequence_iterates_its_batches():
    seq = _Squares()
    assert list(seq) == [0, 1, 4]
    seq.on_epoch_end()
    assert seq.epochs == 1


def test_sequence_without_methods_says_what_to_implement():
    class Empty(Sequence):
        pass

    with pytest.raises(NotImplementedError, match='__len__'):
        len(Empty())
    with pytest.raises(NotImplementedError, match='__getitem__'):
        Empty()[0]
    Empty().on_epoch_end()  # the default does nothing
