"""Downloading and caching files, and the ``Sequence`` base class (Keras 2's ``data_utils``).

``get_file`` keeps files in ``<graphc home>/<cache_subdir>/`` (``~/.graphc/datasets`` by
default). A cached file whose hash matches is used without touching the network. A download
goes to ``<path>.part`` and is renamed into place only once it is complete and its hash is
right, so the final path never holds a partial or corrupt file. If a download is interrupted,
the ``.part`` file is kept and the next call resumes it with an HTTP ``Range`` request, but only
when the server shows it is still the same file (a 206 answer whose ``Content-Range`` starts at
the partial file's end, the same total length, and the same ``ETag`` / ``Last-Modified`` where
the server sent them); otherwise the download starts again from byte 0. A server that sends
none of these validators and keeps the length cannot be checked: pass ``file_hash``.
Extraction (``extract`` / ``untar``) only adds or updates the archive's own files.

Example:
    >>> path = get_file('mnist.npz',  # doctest: +SKIP
    ...                 origin='https://storage.googleapis.com/tensorflow/'
    ...                        'tf-keras-datasets/mnist.npz')
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile

from graphc import config
from graphc.utils.generic_utils import Progbar

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
    fcntl = None

# Seconds a socket may stay silent before a download is abandoned (and later resumed).
SOCKET_TIMEOUT = 60.0
_CHUNK = 1 << 16
_HASH_ALGORITHMS = ('auto', 'sha256', 'md5')
_ARCHIVE_FORMATS = ('auto', 'tar', 'zip')


class DownloadError(OSError):
    """A file could not be downloaded (network, HTTP or interrupted transfer)."""


class ChecksumError(ValueError):
    """A downloaded file's hash is not the expected one."""


# --------------------------------------------------------------------------------------------
# Hashes
# --------------------------------------------------------------------------------------------

def _resolve_algorithm(algorithm, file_hash=None):
    if algorithm not in _HASH_ALGORITHMS:
        raise ValueError(
            f"hash_algorithm must be one of {', '.join(_HASH_ALGORITHMS)}; got {algorithm!r}")
    if algorithm == 'auto':
        # A 64-digit hash is sha256, a 32-digit one md5; with no hash to compare, sha256.
        return 'md5' if file_hash is not None and len(file_hash) == 32 else 'sha256'
    return algorithm


def _hash_file(fpath, algorithm='sha256', chunk_size=65535):
    """The hex digest of a file.

    Args:
        fpath: path of the file.
        algorithm: 'sha256', 'md5' or 'auto' (sha256).
        chunk_size: bytes read at a time.

    Returns:
        The hex digest string.

    Example:
        >>> _hash_file(__file__, 'md5')  # doctest: +SKIP
        '0f3c...'
    """
    algorithm = _resolve_algorithm(algorithm)
    hasher = hashlib.sha256() if algorithm == 'sha256' else hashlib.md5()
    with open(fpath, 'rb') as f:
        for chunk in iter(lambda: f.read(chunk_size), b''):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm='auto', chunk_size=65535):
    """Whether a file's hash equals ``file_hash``.

    Args:
        fpath: path of the file.
        file_hash: the expected sha256 or md5 hex digest.
        algorithm: 'sha256', 'md5', or 'auto' (chosen from the length of ``file_hash``).
        chunk_size: bytes read at a time.

    Returns:
        bool.

    Example:
        >>> validate_file('mnist.npz', '731c5ac6...')  # doctest: +SKIP
        False
    """
    algorithm = _resolve_algorithm(algorithm, file_hash)
    return _hash_file(fpath, algorithm, chunk_size) == str(file_hash).lower()


# --------------------------------------------------------------------------------------------
# Archives
# --------------------------------------------------------------------------------------------

class UnsafeArchiveError(ValueError):
    """An archive member would land outside the destination (absolute name, ``..``, a link
    pointing out), is a device or pipe, or would replace something that is not a file."""


def _member_parts(name, archive):
    """The path components of a member name; refuses absolute names and ``..``."""
    if name.startswith(('/', '\\')) or re.match(r'^[A-Za-z]:', name):
        raise UnsafeArchiveError(f"{archive}: member {name!r} has an absolute path; refusing "
                                 f"to extract the archive")
    parts = [p for p in re.split(r'[/\\]', name) if p not in ('', '.')]
    if '..' in parts:
        raise UnsafeArchiveError(f"{archive}: member {name!r} points outside the destination "
                                 f"('..'); refusing to extract the archive")
    return parts


def _check_tar_members(archive, members):
    """Refuse the whole tar if any member could be written outside the extraction folder.

    Besides absolute names and ``..``: devices and pipes, links whose target leaves the
    archive's root, and members stored under (or over) a symbolic link, since writing them
    would follow the link.
    """
    symlinks = set()
    for m in members:
        parts = _member_parts(m.name, archive)
        if not (m.isfile() or m.isdir() or m.issym() or m.islnk()):
            raise UnsafeArchiveError(f"{archive}: member {m.name!r} is a device or pipe; "
                                     f"refusing to extract the archive")
        for i in range(1, len(parts) + 1):
            if tuple(parts[:i]) in symlinks:
                raise UnsafeArchiveError(
                    f"{archive}: member {m.name!r} is stored under or over the symbolic link "
                    f"{'/'.join(parts[:i])!r}; refusing to extract the archive")
        if m.issym() or m.islnk():
            target = m.linkname
            if target.startswith(('/', '\\')) or re.match(r'^[A-Za-z]:', target):
                raise UnsafeArchiveError(f"{archive}: link {m.name!r} points to the absolute "
                                         f"path {target!r}; refusing to extract the archive")
            resolved = parts[:-1] if m.issym() else []   # a hard link names a member path
            for p in re.split(r'[/\\]', target):
                if p == '..':
                    if not resolved:
                        raise UnsafeArchiveError(
                            f"{archive}: link {m.name!r} -> {target!r} points outside the "
                            f"destination; refusing to extract the archive")
                    resolved.pop()
                elif p not in ('', '.'):
                    resolved.append(p)
            if m.islnk() and any(tuple(resolved[:i]) in symlinks
                                 for i in range(1, len(resolved) + 1)):
                raise UnsafeArchiveError(f"{archive}: hard link {m.name!r} -> {target!r} "
                                         f"goes through a symbolic link; refusing to extract "
                                         f"the archive")
            if m.issym():
                symlinks.add(tuple(parts))


def _check_zip_members(archive, names):
    for name in names:
        _member_parts(name, archive)


def _links_stay_inside(root, archive):
    """After extraction: every symbolic link under ``root`` resolves inside ``root``."""
    real_root = os.path.realpath(root)
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                real = os.path.realpath(path)
                if os.path.commonpath([real, real_root]) != real_root:
                    rel = os.path.relpath(path, root)
                    raise UnsafeArchiveError(f"{archive}: link {rel!r} resolves outside the "
                                             f"destination; refusing to extract the archive")


def _plan_moves(src, dest, archive_path, moves):
    """Check that moving the tree ``src`` onto ``dest`` only adds or updates the archive's
    own files, and list the moves: (source, destination, kind). Nothing is changed here."""
    for name in sorted(os.listdir(src)):
        s, d = os.path.join(src, name), os.path.join(dest, name)
        s_is_dir = os.path.isdir(s) and not os.path.islink(s)
        if not os.path.lexists(d):
            moves.append((s, d, 'new'))
        elif os.path.islink(d):
            if s_is_dir:
                raise UnsafeArchiveError(
                    f"{archive_path}: the folder {name!r} of the archive would be extracted "
                    f"into {d}, which is a symbolic link (not followed); nothing was "
                    f"extracted")
            moves.append((s, d, 'replace'))
        elif os.path.isdir(d):
            if not s_is_dir:
                raise UnsafeArchiveError(
                    f"{archive_path}: the file {name!r} of the archive would replace the "
                    f"folder {d}; nothing was extracted (move or delete the folder first)")
            _plan_moves(s, d, archive_path, moves)        # merge: keep the folder's other files
        else:
            if s_is_dir:
                raise UnsafeArchiveError(
                    f"{archive_path}: the folder {name!r} of the archive would replace the "
                    f"file {d}; nothing was extracted (move or delete the file first)")
            if os.path.abspath(d) == os.path.abspath(archive_path):
                raise UnsafeArchiveError(
                    f"{archive_path}: a member of the archive would replace the archive "
                    f"itself; nothing was extracted")
            moves.append((s, d, 'replace'))
    return moves


def _extract_archive(file_path, path='.', archive_format='auto'):
    """Extract a tar (plain, gz, bz2, xz) or zip archive into ``path``.

    Nothing outside the archive's own files is deleted or replaced: the archive is unpacked
    into a temporary folder inside ``path``, then its entries are moved into place. A folder
    that already exists is merged (its other files are kept); a file of the archive replaces
    a file of the same name (not a folder, not the archive itself). The whole archive is
    refused, before anything is written to ``path``, if a member has an absolute name or
    ``..``, is a device or pipe, is a link pointing outside, or is stored under a link.

    Args:
        file_path: the archive.
        path: the destination folder.
        archive_format: 'auto' (tar, then zip), 'tar', 'zip', a list of those, or None.

    Returns:
        True if the file was an archive of one of the formats and was extracted, else False.

    Raises:
        UnsafeArchiveError (a ValueError) naming the archive and the offending member.
    """
    if archive_format is None:
        return False
    formats = list(_ARCHIVE_FORMATS[1:]) if archive_format == 'auto' else archive_format
    if isinstance(formats, str):
        formats = [formats]
    for fmt in formats:
        if fmt not in _ARCHIVE_FORMATS[1:]:
            raise ValueError(
                f"archive_format must be 'auto', 'tar', 'zip' or None; got {archive_format!r}")
    for fmt in formats:
        if fmt == 'tar' and tarfile.is_tarfile(file_path):
            opener = tarfile.open
        elif fmt == 'zip' and zipfile.is_zipfile(file_path):
            opener = zipfile.ZipFile
        else:
            continue
        os.makedirs(path, exist_ok=True)
        with opener(file_path) as archive:
            if fmt == 'tar':
                members = archive.getmembers()
                _check_tar_members(file_path, members)
            else:
                _check_zip_members(file_path, archive.namelist())
            tmp = tempfile.mkdtemp(dir=path, prefix='.tmp-extract-')
            try:
                try:
                    if fmt == 'tar' and hasattr(tarfile, 'data_filter'):
                        archive.extractall(tmp, members=members, filter='data')
                    else:
                        archive.extractall(tmp)
                except getattr(tarfile, 'FilterError', ()) as e:  # e.g. a chain of links out
                    raise UnsafeArchiveError(f"{file_path}: {e}; refusing to extract the "
                                             f"archive") from None
                _links_stay_inside(tmp, file_path)
                for src, dest, kind in _plan_moves(tmp, path, file_path, []):
                    os.replace(src, dest)     # a new entry, or a file over a file: atomic
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return True
    return False


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------

class _FileLock:
    """An exclusive advisory lock (flock) on ``path`` so that two processes fetching the same
    file do not write the same ``.part`` at once. A no-op where fcntl is missing."""

    def __init__(self, path):
        self.path = path
        self._fd = None

    def __enter__(self):
        if fcntl is not None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _offline_hint(fpath):
    return (f"If this machine cannot reach it, download the file elsewhere and place it at "
            f"{fpath} by hand; it will then be used from there.")


def _open_url(origin, fpath, offset, if_range=None):
    headers = {'User-Agent': 'graphc-get-file'}
    if offset:
        headers['Range'] = f'bytes={offset}-'
        if if_range:
            headers['If-Range'] = if_range   # a changed file comes back whole (200)
    request = urllib.request.Request(origin, headers=headers)
    try:
        return urllib.request.urlopen(request, timeout=SOCKET_TIMEOUT)
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:
            e.close()
            return None  # the partial file does not fit the server's file: start over
        raise DownloadError(
            f"URL fetch failure on {origin}: HTTP {e.code} {e.reason} (the file was to be "
            f"saved at {fpath}). {_offline_hint(fpath)}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
        reason = getattr(e, 'reason', e)
        raise DownloadError(
            f"Could not download {origin}: {reason} (the file was to be saved at {fpath}). "
            f"{_offline_hint(fpath)}") from None


def _content_range(response):
    """``(start, end, total)`` of a 206 response's Content-Range (total None for ``*``), or
    None when the header is missing or malformed."""
    match = re.fullmatch(r'\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*',
                         response.headers.get('Content-Range', ''))
    if not match:
        return None
    total = None if match.group(3) == '*' else int(match.group(3))
    return int(match.group(1)), int(match.group(2)), total


def _content_length(response):
    length = response.headers.get('Content-Length')
    return int(length) if length and length.strip().isdigit() else None


# A partial download ``<file>.part`` is resumed only with its record ``<file>.part.json``:
# the URL, and the total length, ETag and Last-Modified the server announced when the
# download began. A resumed response must agree with all of them, so a file that changed on
# the server is fetched again from byte 0 instead of being spliced onto the old bytes.

def _describe(response):
    return {'length': _content_length(response), 'etag': response.headers.get('ETag'),
            'last_modified': response.headers.get('Last-Modified')}


def _read_record(part, origin):
    """The record of a partial download of ``origin``, or None if it cannot be resumed."""
    try:
        with open(part + '.json') as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get('origin') != origin:
        return None
    size = os.path.getsize(part)
    length = record.get('length')
    if size == 0 or (isinstance(length, int) and size >= length):
        return None
    return record


def _discard_partial(part):
    for path in (part, part + '.json'):
        if os.path.lexists(path):
            os.unlink(path)


def _if_range(record):
    etag = record.get('etag')
    if etag and not etag.startswith('W/'):     # If-Range needs a strong validator
        return etag
    return record.get('last_modified')


def _resume_mismatch(response, offset, record):
    """Why a 206 response cannot continue the partial file (None if it can)."""
    content_range = _content_range(response)
    if content_range is None:
        return "the server's answer has no valid Content-Range"
    start, end, total = content_range
    if start != offset:
        return f"the server sent bytes from {start}, not from {offset}"
    if total is None or end != total - 1:
        return f"the server sent bytes {start}-{end} of {total or 'an unknown length'}"
    if record.get('length') is not None and total != record['length']:
        return f"the file's length changed from {record['length']} to {total} bytes"
    length = _content_length(response)
    if length is not None and length != total - offset:
        return (f"the Content-Length ({length}) does not match the range {start}-{end}")
    now = _describe(response)
    for key, header in (('etag', 'ETag'), ('last_modified', 'Last-Modified')):
        if record.get(key) and now[key] != record[key]:
            return f"its {header} changed from {record[key]} to {now[key]}"
    return None


def _download(origin, fpath, part, verbose=1):
    """Fetch ``origin`` into ``part``, resuming a partial ``part`` with a Range request when
    the server proves (206, Content-Range, length, ETag / Last-Modified) it is the same file.

    Returns True if an earlier partial file was resumed. On any failure the ``part`` file and
    its record are kept (for the next call to resume) and DownloadError is raised.
    """
    record = _read_record(part, origin) if os.path.exists(part) else None
    if record is None:
        _discard_partial(part)
    offset = os.path.getsize(part) if record is not None else 0
    for _ in range(2):
        response = _open_url(origin, fpath, offset, _if_range(record) if offset else None)
        if response is None:                       # 416: the range does not fit the file
            _discard_partial(part)
            offset, record = 0, None
            continue
        if offset and getattr(response, 'status', None) == 206:
            why = _resume_mismatch(response, offset, record)
            if why is None:
                break
            response.close()
            if verbose:
                print(f'Not resuming the partial download of {origin}: {why}. Downloading '
                      f'it again from the start.')
            _discard_partial(part)
            offset, record = 0, None
            continue
        offset = 0                   # a whole file (200): also when the file has changed
        break
    else:
        raise DownloadError(f"Could not download {origin}: the server did not send a usable "
                            f"answer (the file was to be saved at {fpath}).")
    with response:
        resumed = offset > 0
        if resumed:
            total = record.get('length') or _content_range(response)[2]
        else:
            record = {'origin': origin, **_describe(response)}
            total = record['length']
            if os.path.lexists(part):
                os.unlink(part)
            config.atomic_write_text(part + '.json', json.dumps(record) + '\n')
        if verbose:
            note = f' (resuming at byte {offset})' if resumed else ''
            print(f'Downloading data from {origin}{note}')
        progbar = Progbar(total, verbose=1, unit_name='byte') if verbose else None
        received = offset
        try:
            with open(part, 'ab' if resumed else 'wb') as f:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    f.write(chunk)
                    received += len(chunk)
                    if progbar is not None:
                        progbar.update(received)
                f.flush()
                os.fsync(f.fileno())
        except (OSError, http.client.HTTPException) as e:
            raise DownloadError(
                f"Download of {origin} was interrupted after {received} bytes ({e}). The "
                f"partial file is kept at {part}; calling again resumes it.") from None
        if progbar is not None and (total is None or received < total):
            progbar.update(received, finalize=True)
        if total is not None and received != total:
            raise DownloadError(
                f"Download of {origin} ended after {received} of {total} bytes. The partial "
                f"file is kept at {part}; calling again resumes it.")
    return resumed


def _fetch(origin, fpath, file_hash, algorithm, verbose=1):
    """Download ``origin`` to ``fpath`` through ``fpath.part``, checking the hash before the
    atomic rename. A resumed download whose hash is wrong is retried once from scratch."""
    part = fpath + '.part'
    for attempt in range(2):
        resumed = _download(origin, fpath, part, verbose)
        if file_hash is None:
            break
        actual = _hash_file(part, algorithm)
        if actual == str(file_hash).lower():
            break
        _discard_partial(part)
        if resumed and attempt == 0:
            continue  # the earlier partial file may not belong to this file
        raise ChecksumError(
            f"The file downloaded from {origin} for {fpath} is corrupt or not the expected "
            f"file: its {algorithm} hash is {actual}, expected {file_hash}. It was not saved.")
    os.replace(part, fpath)
    _discard_partial(part)           # the record of the finished download


def get_file(fname, origin, untar=False, md5_hash=None, file_hash=None,
             cache_subdir='datasets', hash_algorithm='auto', extract=False,
             archive_format='auto', cache_dir=None):
    """Download a file from a URL unless it is already in the cache, and return its path.

    The file is kept at ``<cache_dir>/<cache_subdir>/<fname>`` (``cache_dir`` defaults to the
    graphc home, ``~/.graphc`` or ``$GRAPHC_HOME``; an absolute ``fname`` is used as is). A
    cached file is used when no hash is given or its hash matches; otherwise it is
    downloaded again. Downloads are resumed, checked and renamed into place atomically.

    Args:
        fname: the file name in the cache (for ``untar=True``, the name of the extracted
            folder; the archive is kept as ``fname + '.tar.gz'``).
        origin: the URL of the file.
        untar: deprecated in Keras 2 in favour of ``extract``; extract the tar archive into
            the cache folder and return the folder ``fname``.
        md5_hash: deprecated, the md5 of the file (use ``file_hash``).
        file_hash: the expected sha256 or md5 hex digest of the file, or None.
        cache_subdir: the folder under ``cache_dir`` (may be absolute).
        hash_algorithm: 'auto', 'sha256' or 'md5'; 'auto' decides from the hash's length.
        extract: extract the file as an archive (tar.gz, tar, zip) into the cache folder.
        archive_format: 'auto', 'tar', 'zip' or None, for ``extract``.
        cache_dir: the base folder instead of the graphc home.

    Returns:
        The path of the downloaded file (of the extracted folder with ``untar``).

    Raises:
        DownloadError: the URL cannot be reached or the transfer failed; the message names
            the URL and the cache path where the file can be placed by hand.
        ChecksumError: the downloaded file's hash is not ``file_hash``.

    Example:
        >>> path = get_file('boston_housing.npz',  # doctest: +SKIP
        ...     origin='https://storage.googleapis.com/tensorflow/tf-keras-datasets/'
        ...            'boston_housing.npz',
        ...     file_hash='f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5')
    """
    if md5_hash is not None and file_hash is None:
        file_hash = md5_hash
        hash_algorithm = 'md5'
    if file_hash is not None:
        algorithm = _resolve_algorithm(hash_algorithm, file_hash)
        file_hash = str(file_hash).lower()
    else:
        _resolve_algorithm(hash_algorithm)
        algorithm = None
    if archive_format not in (None, *_ARCHIVE_FORMATS) and not isinstance(archive_format, list):
        raise ValueError(
            f"archive_format must be 'auto', 'tar', 'zip' or None; got {archive_format!r}")

    base = os.path.expanduser(cache_dir) if cache_dir is not None else config.home()
    try:
        os.makedirs(base, exist_ok=True)
        writable = os.access(base, os.W_OK)
    except OSError:
        writable = False
    if not writable:  # as Keras 2: fall back to a folder in the temp dir
        base = os.path.join(tempfile.gettempdir(), '.graphc')
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    if untar:
        untar_fpath = os.path.join(datadir, fname)
        fpath = untar_fpath + '.tar.gz'
    else:
        fpath = os.path.join(datadir, fname)

    downloaded = False
    lock = os.path.join(os.path.dirname(fpath), '.' + os.path.basename(fpath) + '.lock')
    with _FileLock(lock):
        download = not os.path.exists(fpath)
        stale = None
        if not download and file_hash is not None:
            actual = _hash_file(fpath, algorithm)
            if actual != file_hash:
                stale = (f"The file already at {fpath} was not used: its {algorithm} hash is "
                         f"{actual}, expected {file_hash}.")
                print(f"A local file was found at {fpath}, but it seems to be incomplete or "
                      f"outdated because its {algorithm} hash ({actual}) does not match the "
                      f"original value of {file_hash}, so the data will be downloaded again.")
                download = True
        if download:
            try:
                _fetch(origin, fpath, file_hash, algorithm)
            except DownloadError as e:
                if stale is None:
                    raise
                raise DownloadError(f"{e} {stale}") from None
            downloaded = True

        if untar:
            if downloaded or not os.path.exists(untar_fpath):
                if not _extract_archive(fpath, datadir, archive_format='tar'):
                    raise ValueError(f"{fpath} (from {origin}) is not a tar archive")
            return untar_fpath
        if extract:
            if not _extract_archive(fpath, datadir, archive_format):
                raise ValueError(
                    f"{fpath} (from {origin}) is not an archive of format {archive_format!r}")
    return fpath


# --------------------------------------------------------------------------------------------
# Sequence
# --------------------------------------------------------------------------------------------

class Sequence:
    """Base class for a dataset that yields one batch per index (``keras.utils.Sequence``).

    Subclasses implement ``__getitem__(index)`` (the batch ``index``, as ``(x, y)`` or
    ``(x, y, sample_weight)``) and ``__len__()`` (the number of batches per epoch), and may
    override ``on_epoch_end()``. Unlike a generator, a Sequence can be read in any order,
    which makes shuffling and parallel loading safe.

    Example:
        >>> class Batches(Sequence):
        ...     def __init__(self, x, batch_size):
        ...         self.x, self.batch_size = x, batch_size
        ...     def __len__(self):
        ...         return -(-len(self.x) // self.batch_size)
        ...     def __getitem__(self, i):
        ...         return self.x[i * self.batch_size:(i + 1) * self.batch_size]
        >>> [list(b) for b in Batches([1, 2, 3], 2)]
        [[1, 2], [3]]
    """

    use_sequence_api = True

    def __getitem__(self, index):
        raise NotImplementedError(
            f"{type(self).__name__} must implement __getitem__(index) to return batch `index`")

    def __len__(self):
        raise NotImplementedError(
            f"{type(self).__name__} must implement __len__() to return the number of batches")

    def on_epoch_end(self):
        """Called at the end of every epoch (e.g. to reshuffle); does nothing by default."""

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


# The enqueuers live in their own module; Keras 2 imports them from here.
from graphc.utils.enqueuers import (  # noqa: E402,F401
    GeneratorEnqueuer, OrderedEnqueuer, SequenceEnqueuer, get_index, init_pool)
