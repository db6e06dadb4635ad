import hashlib
import io
import os
import re
import socket
import tarfile
import threading
import zipfile

import pytest

from graphc.utils import Sequence, get_file
from graphc.utils.data_utils import (ChecksumError, DownloadError, UnsafeArchiveError,
                                     _extract_archive, _hash_file, validate_file)

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


def _interrupt(server, cut):
    """Leave a partial download of /data.bin (``cut`` bytes) and its record, as a transfer
    that broke off would; then forget the requests made so far."""
    server.cut_after['/data.bin'] = cut
    with pytest.raises(DownloadError):
        get_file('data.bin', origin=server.url('data.bin'))
    del server.cut_after['/data.bin']
    server.requests.clear()
    server.sent.clear()
    server.if_ranges.clear()


def test_partial_file_is_resumed_with_range(served, graphc_home):
    served.etags['/data.bin'] = '"v1"'
    _interrupt(served, 100000)
    final = graphc_home / 'datasets' / 'data.bin'
    assert (final.parent / 'data.bin.part').stat().st_size == 100000
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert served.requests == [('/data.bin', 'bytes=100000-')]
    assert served.if_ranges == ['"v1"']
    assert served.sent == [('/data.bin', len(PAYLOAD) - 100000)]
    assert sorted(os.listdir(final.parent)) == ['.data.bin.lock', 'data.bin']


def test_partial_file_without_its_record_is_not_resumed(served, graphc_home):
    # Nothing says which file or version these bytes came from: start from zero.
    final = graphc_home / 'datasets' / 'data.bin'
    final.parent.mkdir(parents=True)
    (final.parent / 'data.bin.part').write_bytes(PAYLOAD[:100000])
    path = get_file('data.bin', origin=served.url('data.bin'))
    assert open(path, 'rb').read() == PAYLOAD
    assert served.requests == [('/data.bin', None)]


def test_server_ignoring_range_restarts_the_download(served, graphc_home):
    _interrupt(served, 5000)
    served.ignore_range = True
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert served.sent == [('/data.bin', len(PAYLOAD))]


def test_partial_file_longer_than_recorded_length_restarts(served, graphc_home):
    _interrupt(served, 5000)
    part = graphc_home / 'datasets' / 'data.bin.part'
    part.write_bytes(PAYLOAD + b'extra')
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert [r for _, r in served.requests] == [None]


def test_corrupt_partial_file_is_detected_and_fetched_again(served, graphc_home):
    _interrupt(served, 1000)
    part = graphc_home / 'datasets' / 'data.bin.part'
    part.write_bytes(b'\xff' * 1000)  # not the file's first bytes
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert [r for _, r in served.requests] == ['bytes=1000-', None]


NEW_PAYLOAD = bytes(reversed(PAYLOAD))            # same length, other bytes
LONGER_PAYLOAD = PAYLOAD + b'appended'


@pytest.mark.parametrize('case', ['etag, If-Range honoured', 'etag, If-Range ignored',
                                  'last-modified, If-Range ignored',
                                  'no validators, length changed', 'wrong Content-Range'])
def test_file_changed_on_the_server_is_fetched_whole_not_spliced(served, graphc_home,
                                                                 case, capsys):
    new = LONGER_PAYLOAD if 'length' in case else NEW_PAYLOAD
    if 'etag' in case:
        served.etags['/data.bin'] = '"v1"'
    if 'last-modified' in case:
        served.last_modified['/data.bin'] = 'Mon, 07 Dec 2026 10:00:00 GMT'
    _interrupt(served, 100000)
    served.files['/data.bin'] = new
    if 'etag' in case:
        served.etags['/data.bin'] = '"v2"'
    if 'last-modified' in case:
        served.last_modified['/data.bin'] = 'Mon, 07 Dec 2026 11:00:00 GMT'
    served.honor_if_range = 'honoured' in case
    if 'Content-Range' in case:
        served.files['/data.bin'] = PAYLOAD           # unchanged, but the answer is wrong
        served.range_shift = 1
        new = PAYLOAD
    path = get_file('data.bin', origin=served.url('data.bin'))   # no hash to catch a splice
    assert open(path, 'rb').read() == new
    ranges = [r for _, r in served.requests]
    if 'honoured' in case:
        assert ranges == ['bytes=100000-'] and served.sent == [('/data.bin', len(new))]
    else:
        assert ranges == ['bytes=100000-', None]
        assert 'Not resuming the partial download' in capsys.readouterr().out


def test_resume_with_last_modified_only_sends_it_as_if_range(served, graphc_home):
    served.last_modified['/data.bin'] = 'Mon, 07 Dec 2026 10:00:00 GMT'
    _interrupt(served, 100000)
    path = get_file('data.bin', origin=served.url('data.bin'), file_hash=sha256(PAYLOAD))
    assert open(path, 'rb').read() == PAYLOAD
    assert served.if_ranges == ['Mon, 07 Dec 2026 10:00:00 GMT']
    assert served.sent == [('/data.bin', len(PAYLOAD) - 100000)]


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
    """A tar.gz of ``{name: bytes}``; a value ``('sym' | 'hard' | 'fifo', target)`` makes a
    symbolic link, hard link or pipe."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if isinstance(data, tuple):
                info.type = {'sym': tarfile.SYMTYPE, 'hard': tarfile.LNKTYPE,
                             'fifo': tarfile.FIFOTYPE}[data[0]]
                info.linkname = data[1]
                tar.addfile(info)
            else:
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


UNSAFE_TARS = {
    'dot-dot name': {'../escaped.txt': b'x'},
    'absolute name': {'/tmp/graphc-absolute.txt': b'x'},
    'symlink out': {'link': ('sym', '../../escaped.txt')},
    'absolute symlink': {'link': ('sym', '/etc/passwd')},
    'hard link out': {'hard': ('hard', '../escaped.txt')},
    'member under a symlink': {'sub/f.txt': b'in', 'link': ('sym', 'sub'),
                               'link/g.txt': b'through the link'},
    'pipe': {'pipe': ('fifo', '')},
    'hard link through a symlink': {'link': ('sym', '.'), 'h': ('hard', 'link/x')},
    'symlink chain out': {'d/l2': ('sym', '..'), 'l1': ('sym', 'd/l2/..')},
}


@pytest.mark.parametrize('python_filter', [True, False], ids=['data-filter', 'no-filter'])
@pytest.mark.parametrize('case', sorted(UNSAFE_TARS))
def test_extract_refuses_members_outside_the_folder(tmp_path, monkeypatch, case,
                                                    python_filter):
    if not python_filter:       # as on a Python without tarfile's extraction filters
        monkeypatch.delattr(tarfile, 'data_filter', raising=False)
    archive = tmp_path / 'evil.tar.gz'
    archive.write_bytes(_tar_gz(UNSAFE_TARS[case]))
    dest = tmp_path / 'dest'
    with pytest.raises(UnsafeArchiveError, match='refusing to extract') as err:
        _extract_archive(str(archive), str(dest))
    assert 'evil.tar.gz' in str(err.value)
    assert not (tmp_path / 'escaped.txt').exists()
    assert not os.path.exists('/tmp/graphc-absolute.txt')
    assert os.listdir(dest) == []                       # nothing at all was extracted


def test_extract_refuses_zip_members_with_dot_dot_or_absolute_names(tmp_path):
    for name in ('../escaped.txt', '/abs.txt'):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, 'w') as z:
            z.writestr('ok.txt', b'fine')
            z.writestr(name, b'x')
        archive = tmp_path / 'evil.zip'
        archive.write_bytes(buf.getvalue())
        dest = tmp_path / 'dest'
        with pytest.raises(UnsafeArchiveError, match=re.escape(repr(name))):
            _extract_archive(str(archive), str(dest))
        assert os.listdir(dest) == []


def test_extract_keeps_links_that_stay_inside(tmp_path):
    archive = tmp_path / 'ok.tar.gz'
    archive.write_bytes(_tar_gz({'pkg/a.txt': b'alpha', 'pkg/l': ('sym', 'a.txt'),
                                 'pkg/h': ('hard', 'pkg/a.txt')}))
    dest = tmp_path / 'dest'
    assert _extract_archive(str(archive), str(dest))
    assert os.readlink(dest / 'pkg' / 'l') == 'a.txt'
    assert (dest / 'pkg' / 'l').read_bytes() == (dest / 'pkg' / 'h').read_bytes() == b'alpha'


def test_extract_adds_to_existing_folders_and_deletes_nothing(file_server, graphc_home):
    datadir = graphc_home / 'datasets'
    (datadir / 'pkg' / 'mine').mkdir(parents=True)
    (datadir / 'pkg' / 'mine' / 'notes.txt').write_bytes(b'my notes')
    (datadir / 'pkg' / 'a.txt').write_bytes(b'old alpha')
    (datadir / 'other.txt').write_bytes(b'unrelated')
    archive = _tar_gz({'pkg/a.txt': b'alpha', 'pkg/sub/b.txt': b'beta'})
    file_server.files['/pkg.tar.gz'] = archive
    get_file('pkg.tar.gz', origin=file_server.url('pkg.tar.gz'), extract=True)
    assert (datadir / 'pkg' / 'mine' / 'notes.txt').read_bytes() == b'my notes'
    assert (datadir / 'other.txt').read_bytes() == b'unrelated'
    assert (datadir / 'pkg' / 'a.txt').read_bytes() == b'alpha'        # the archive's file
    assert (datadir / 'pkg' / 'sub' / 'b.txt').read_bytes() == b'beta'
    assert not [n for n in os.listdir(datadir) if n.startswith('.tmp')]


def test_extract_never_replaces_a_folder_or_follows_a_link_in_the_destination(tmp_path):
    dest = tmp_path / 'dest'
    (dest / 'thing').mkdir(parents=True)
    (dest / 'thing' / 'keep.txt').write_bytes(b'keep')
    archive = tmp_path / 'a.tar.gz'
    archive.write_bytes(_tar_gz({'thing': b'a file where a folder is', 'new.txt': b'n'}))
    with pytest.raises(UnsafeArchiveError, match='would replace the folder'):
        _extract_archive(str(archive), str(dest))
    assert (dest / 'thing' / 'keep.txt').read_bytes() == b'keep'
    assert sorted(os.listdir(dest)) == ['thing']       # all or nothing: new.txt not added

    outside = tmp_path / 'outside'
    outside.mkdir()
    os.symlink(outside, dest / 'linked')
    archive.write_bytes(_tar_gz({'linked/x.txt': b'x'}))
    with pytest.raises(UnsafeArchiveError, match='symbolic link'):
        _extract_archive(str(archive), str(dest))
    assert os.listdir(outside) == []


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
