# fetch-extract: the extraction step of `kubectl eidf fetch --extract`.
#
# Run by plugins/fetch/fetch-extract.sh in the Job's `extract` container,
# after the `fetch` container has downloaded (and verified) this pod's files:
#   python3 -c "$source" --dest DIR [--list FILE] [--shards N]
# with the same list ($EIDF_FETCH_LIST or --list) and sharding
# ($JOB_COMPLETION_INDEX) as fetch-job.sh.  Every archive (zip, tar, tar.gz/tgz,
# tar.xz/txz, tar.bz2/tbz2, tar.zst/tzst) of this pod's share is unpacked into
# the directory that holds it.
#
# Safety is decided on the archive's structure as Python's tarfile/zipfile
# read it (entry type, name and link-target bytes, mode, size), never on text
# a tool prints.  An archive is checked in full before anything is written:
#   - names: no absolute paths, no "..", no NUL, no backslashes in zips,
#     nothing through a symlink or a file, no duplicates, no reserved names
#     (.eidf-fetch, staging directories, the fetch's own files);
#   - symlinks: relative targets that stay inside after resolving every
#     component (links of the archive and links already in the directory),
#     no ".." after a component that is not a directory (yet), and every
#     link resolved again against the directory as it will be at the end;
#   - hard links: only to a regular file extracted earlier from the archive;
#   - no devices, FIFOs, sockets, sparse files or other special entries, no
#     extended header tarfile would have to hold in memory whole;
#   - the total size and the number of entries fit the volume's free space.
# Then it is extracted, from the same open archive file, into a private
# staging directory beside the target (same file system), and moved into
# place only when every entry was written.  Every step is relative to one
# open directory and never follows a symlink; DEST is locked (flock) while
# an archive is extracted into it.  Ownership is never restored; modes are
# masked with 022 and setuid/setgid/sticky bits are dropped.
#
# Exit codes (plugins/fetch/fetch_spec.h): 0 done, 1 transient (I/O error,
# retried by the next pod), 2 usage, 5 an archive was refused or unreadable,
# 6 this image cannot extract a format (e.g. tar.zst without zstd).
import errno
import fcntl
import json
import os
import stat
import subprocess
import sys
import tarfile
import time
import zipfile

EXIT_TRANSIENT, EXIT_USAGE, EXIT_REFUSED, EXIT_NO_TOOL = 1, 2, 5, 6
MARK = ".eidf-fetch"
STAGE_PREFIX = ".eidf-extract."
MAX_LINK_DEPTH = 40
MAX_ZIP_LINK = 4096
MAX_PATH = 4096  # Linux PATH_MAX, with the NUL
CHUNK = 1 << 20
ALL = "(all entries)"

TAR_SUFFIXES = {
    ".tar": "", ".tar.gz": "gz", ".tgz": "gz", ".tar.xz": "xz", ".txz": "xz",
    ".tar.bz2": "bz2", ".tbz2": "bz2", ".tar.zst": "zst", ".tzst": "zst",
}


def shown(s):
    """A name as one printable line: control characters and bytes that are
    not UTF-8 escaped, so an entry name cannot forge log lines."""
    b = s.encode("utf-8", "surrogateescape") if isinstance(s, str) else s
    out = []
    for ch in b.decode("utf-8", "backslashreplace"):
        o = ord(ch)
        out.append("\\x%02x" % o if o < 0x20 or o == 0x7f else ch)
    return "".join(out)


def say(msg):
    sys.stdout.write("eidf-fetch: %s\n" % msg)
    sys.stdout.flush()


class Refused(Exception):
    """The archive is refused: entry name and reason (exit 5)."""
    def __init__(self, entry, reason):
        Exception.__init__(self, reason)
        self.entry, self.reason = entry, reason


class NoTool(Exception):
    """This image cannot extract the format (exit 6)."""


class Entry:
    __slots__ = ("name", "path", "kind", "size", "mode", "mtime", "link", "sig")

    def __init__(self, name, kind, size=0, mode=None, mtime=None, link=None):
        self.name = name        # as stored in the archive (for messages)
        self.path = None        # tuple of components, set by the checker
        self.kind = kind        # "file", "dir", "symlink", "hardlink"
        self.size = size
        self.mode = mode        # permission bits from the archive, or None
        self.mtime = mtime
        self.link = link        # symlink target / hard link name (str)
        # what the check decided on, compared when the entry is written
        self.sig = (name, kind, size, mode, link)


# ---- reading archives --------------------------------------------------------

SPECIAL = {
    tarfile.CHRTYPE: "character device", tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "FIFO", tarfile.GNUTYPE_SPARSE: "GNU sparse file (not supported)",
}


def tar_kind(ti):
    if ti.type in SPECIAL:
        raise Refused(ti.name, SPECIAL[ti.type])
    if ti.sparse is not None:
        raise Refused(ti.name, "GNU sparse file (not supported)")
    if ti.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE):
        return "file"
    if ti.type == tarfile.DIRTYPE:
        return "dir"
    if ti.type == tarfile.SYMTYPE:
        return "symlink"
    if ti.type == tarfile.LNKTYPE:
        return "hardlink"
    raise Refused(ti.name, "unsupported entry type %r" % ti.type.decode("latin-1"))


MAX_HEADER = 1 << 20  # a pax or GNU long-name header; PATH_MAX is 4096


class BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a pax or GNU long-name header's data into memory in one
    piece, and a sparse file's map block by block: refuse those before
    tarfile reads them (a header declaring a TiB would exhaust memory)."""

    def _proc_member(self, tarfile_):
        if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE,
                         tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK) \
                and not 0 <= self.size <= MAX_HEADER:
            raise Refused(self.name, "extended header of %d bytes (at most %d)" % (self.size, MAX_HEADER))
        if self.type == tarfile.GNUTYPE_SPARSE:
            raise Refused(self.name, "GNU sparse file (not supported)")
        return tarfile.TarInfo._proc_member(self, tarfile_)

    def _sparse_refused(self, next_, *args):
        raise Refused(next_.name, "GNU sparse file (not supported)")

    # pax GNU.sparse.* (formats 0.0, 0.1, 1.0): refused before the map is read
    _proc_gnusparse_00 = _proc_gnusparse_01 = _proc_gnusparse_10 = _sparse_refused


MAX_TRAILER = 1 << 20  # zeros after a .tar.zst's end that are still read


class TarReader:
    """Streams a (compressed) tar archive: one sequential pass per call,
    each from the start of the same open file (`fh`), so both passes read
    the same bytes even if the file is replaced on the volume meanwhile."""

    def __init__(self, fh, comp):
        self.fh, self.comp = fh, comp
        if comp == "xz":
            try:
                import lzma  # noqa: F401
            except ImportError:
                raise NoTool("this image's Python has no lzma module for .tar.xz")
        elif comp == "bz2":
            try:
                import bz2  # noqa: F401
            except ImportError:
                raise NoTool("this image's Python has no bz2 module for .tar.bz2")
        elif comp == "zst":
            self.zstd_module = None
            try:
                from compression import zstd  # Python >= 3.14
                self.zstd_module = zstd
            except ImportError:
                if not any(os.access(os.path.join(d, "zstd"), os.X_OK)
                           for d in os.environ.get("PATH", "").split(":") if d):
                    raise NoTool("this image has neither Python 3.14's compression.zstd "
                                 "nor the zstd command for .tar.zst")

    def entries(self, with_data=False):
        """Yield (Entry, fileobj-or-None) in archive order."""
        proc = raw = None
        self.fh.seek(0)
        try:
            if self.comp == "zst":
                if self.zstd_module is not None:
                    raw = self.zstd_module.open(self.fh, "rb")
                else:
                    proc = subprocess.Popen(["zstd", "-dcq"], stdin=self.fh,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    raw = proc.stdout
                tf = tarfile.open(fileobj=raw, mode="r|", encoding="utf-8",
                                  errors="surrogateescape", tarinfo=BoundedTarInfo)
            else:
                tf = tarfile.open(fileobj=self.fh, mode="r|" + (self.comp or ""), encoding="utf-8",
                                  errors="surrogateescape", tarinfo=BoundedTarInfo)
            with tf:
                for ti in tf:
                    kind = tar_kind(ti)
                    if ti.size < 0:
                        raise Refused(ti.name, "negative size in the header")
                    e = Entry(ti.name, kind, ti.size if kind == "file" else 0,
                              ti.mode & 0o7777, ti.mtime,
                              ti.linkname if kind in ("symlink", "hardlink") else None)
                    f = tf.extractfile(ti) if with_data and kind == "file" else None
                    yield e, f
            if proc is not None:
                # zstd's verdict on the stream, but only when it ends soon
                # after the tar (a tar followed by a PiB of compressed zeros
                # must not be read, nor held in memory)
                rest = proc.stdout.read(MAX_TRAILER + 1)
                if rest.strip(b"\0"):
                    raise ValueError("zstd: trailing data after the tar archive")
                if len(rest) <= MAX_TRAILER:
                    err = proc.stderr.read(4096).decode("utf-8", "replace").strip()
                    if proc.wait() != 0:
                        raise ValueError("zstd: %s" % (err or "exit status %d" % proc.returncode))
        finally:
            if proc is not None:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                proc.stdout.close()
                proc.stderr.close()
            elif raw is not None:
                raw.close()


class ZipReader:
    def __init__(self, fh):
        self.fh = fh

    def entries(self, with_data=False):
        self.fh.seek(0)
        with zipfile.ZipFile(self.fh) as z:
            for zi in z.infolist():
                name = zi.filename
                if zi.flag_bits & 0x1:
                    raise Refused(name, "encrypted entry")
                mode = None
                fmt = 0
                if zi.create_system == 3:  # Unix: st_mode in the high 16 bits
                    st = zi.external_attr >> 16
                    fmt = stat.S_IFMT(st)
                    mode = stat.S_IMODE(st) if st else None
                if fmt == stat.S_IFLNK:
                    if zi.file_size > MAX_ZIP_LINK:
                        raise Refused(name, "symlink target longer than %d bytes" % MAX_ZIP_LINK)
                    target = z.read(zi).decode("utf-8", "surrogateescape")
                    yield Entry(name, "symlink", 0, mode, None, target), None
                    continue
                if fmt in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
                    raise Refused(name, {stat.S_IFCHR: "character device", stat.S_IFBLK: "block device",
                                         stat.S_IFIFO: "FIFO", stat.S_IFSOCK: "socket"}[fmt])
                if zi.is_dir() or fmt == stat.S_IFDIR:
                    yield Entry(name, "dir", 0, mode, zip_mtime(zi)), None
                    continue
                if fmt not in (0, stat.S_IFREG):
                    raise Refused(name, "unsupported entry type 0%o" % fmt)
                f = z.open(zi) if with_data else None
                try:
                    yield Entry(name, "file", zi.file_size, mode, zip_mtime(zi)), f
                finally:
                    if f is not None:
                        f.close()


def zip_mtime(zi):
    try:
        return time.mktime(zi.date_time + (0, 0, -1))
    except (OverflowError, ValueError):
        return None


def archive_format(name):
    """("zip", None), ("tar.gz", "gz") ..., or (None, None) for other files."""
    low = name.lower()
    if low.endswith(".zip"):
        return "zip", None
    for suf in sorted(TAR_SUFFIXES, key=len, reverse=True):
        if low.endswith(suf):
            return suf[1:], TAR_SUFFIXES[suf]
    return None, None


# ---- the structural check ----------------------------------------------------

class Checker:
    """Decides every entry against a model of the directory after extraction:
    the archive's entries so far, and below them what is already on disk."""

    def __init__(self, out_fd, outdir, is_zip, rel, reserved):
        self.out_fd = out_fd            # the directory the archive is extracted into
        self.outdir = outdir            # its name, for messages and the path length
        # checked at every header, so a bomb is refused before its data is read
        self.free, self.inodes = free_space(out_fd)
        self.is_zip = is_zip
        self.rel = rel                  # outdir's path in DEST (a tuple)
        # DEST-relative paths no entry may be: the fetch's own files (every
        # name of its list and its .part, and the directories that hold
        # them, which must stay directories) and anything in .eidf-fetch
        self.reserved = reserved
        self.reserved_dirs = {r[:i] for r in reserved for i in range(1, len(r))}
        self.model = {}                 # path tuple -> ("dir"|"file"|"symlink"|"hardlink", target)
        self.symlinks = []              # the archive's symlink entries, in order
        self.disk_dirs = {}             # path -> is a directory on disk (parents only)
        self.writable_dirs = set()      # directories on disk checked writable
        self.total = 0
        self.count = 0

    def split(self, e, name, what):
        if self.is_zip and "\\" in name:
            raise Refused(e.name, "%sbackslash in the name (a Windows path separator)" % what)
        if name.startswith("/"):
            raise Refused(e.name, "%sabsolute path" % what)
        if "\0" in name:
            raise Refused(e.name, "%sNUL byte in the name" % what)
        comps = []
        for c in name.split("/"):
            if c in ("", "."):
                continue
            if c == "..":
                raise Refused(e.name, "%s'..' in the path (would land outside the destination)" % what)
            if len(c.encode("utf-8", "surrogateescape")) > 255:
                raise Refused(e.name, "%sa path component is longer than 255 bytes" % what)
            comps.append(c)
        return tuple(comps)

    def disk_kind(self, path):
        """What is at outdir/path on disk, path's parents being real
        directories (the resolver walks component by component)."""
        rel = "/".join(path)
        try:
            st = os.lstat(rel, dir_fd=self.out_fd)
        except OSError as err:
            # nothing there; nothing can be there either (a target's path
            # longer than the system allows)
            if err.errno in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
                return None, None
            raise
        if stat.S_ISLNK(st.st_mode):
            return "symlink", os.readlink(rel, dir_fd=self.out_fd)
        if stat.S_ISDIR(st.st_mode):
            return "dir", None
        return "file", None

    def kind_of(self, path):
        if path in self.model:
            return self.model[path]
        return self.disk_kind(path)

    def resolve(self, base, target, entry, depth=0, top=None):
        """The path a symlink target names, starting in directory `base`;
        Refused when any step leaves the destination.  `top` is the
        entry's own target, which the messages name.  Returns (path, dead):
        dead is None, or the first component that is not a directory (a
        file, or nothing yet) with why, after which ".." is refused."""
        if top is None:
            top = target
            self.follows = 0
        # every link followed counts, as the kernel counts them (ELOOP after
        # 40 in one lookup): the depth alone would let "l2/l2/l2..." with
        # l2 -> "l3/l3/l3..." cost exponential time
        if depth > MAX_LINK_DEPTH or self.follows > MAX_LINK_DEPTH:
            raise Refused(entry, "symlink chain longer than %d links" % MAX_LINK_DEPTH)
        if target == "":
            raise Refused(entry, "symlink with an empty target")
        if "\0" in target:
            raise Refused(entry, "symlink to %s: NUL byte in the target" % shown(top))
        if len(target.encode("utf-8", "surrogateescape")) >= MAX_PATH:
            raise Refused(entry, "symlink target longer than %d bytes" % (MAX_PATH - 1))
        if target.startswith("/"):
            if depth:
                raise Refused(entry, "symlink to %s: resolves outside the destination" % shown(top))
            raise Refused(entry, "symlink to %s: absolute target" % shown(top))
        if self.is_zip and "\\" in target:
            raise Refused(entry, "symlink to %s: backslash in the target" % shown(top))
        stack = list(base)
        dead = None
        for c in target.split("/"):
            if c in ("", "."):
                continue
            if c == "..":
                if dead is not None:
                    # "x/.." is not "." when x is a file (ENOTDIR) and, when x
                    # does not exist yet, depends on what the archive or a
                    # user creates there later (a link to "." would make it
                    # the parent): refuse rather than guess
                    raise Refused(entry, "symlink to %s: '..' after '%s', which %s"
                                  % (shown(top), shown("/".join(dead[0])), dead[1]))
                if not stack:
                    raise Refused(entry, "symlink to %s: resolves outside the destination"
                                  % shown(top))
                stack.pop()
                continue
            stack.append(c)
            if dead is not None:
                continue
            kind, link = self.kind_of(tuple(stack))
            if kind is None:
                dead = (tuple(stack), "does not exist yet")
            elif kind == "symlink":
                self.follows += 1
                # a link in the chain: its own target, from its directory;
                # what it ends on (nothing yet, a file) carries over
                path, dead = self.resolve(tuple(stack[:-1]), link, entry, depth + 1, top)
                stack = list(path)
            elif kind != "dir":
                dead = (tuple(stack), "is not a directory")
        return tuple(stack), dead

    def finish(self):
        """After the last entry: resolve every symlink of the archive again,
        against the directory as it will be.  A later entry may replace
        what an earlier link resolved through (a file or a link already in
        the destination, replaced by a link to ".")."""
        for e in self.symlinks:
            self.link_target(e)

    def link_target(self, e):
        """Resolve symlink entry e; its target must not be in .eidf-fetch
        (a later fetch with that link as its DEST would write among the
        markers, which the client refuses as a DEST)."""
        path, _ = self.resolve(e.path[:-1], e.link, e.name)
        if (self.rel + path)[:1] == (MARK,):
            raise Refused(e.name, "symlink to %s: points into %s (reserved)" % (shown(e.link), MARK))

    def add(self, e):
        path = self.split(e, e.name, "")
        e.path = path
        if not path:
            if e.kind == "dir":
                return  # "./": the destination itself
            raise Refused(e.name, "empty name")
        full = self.rel + path
        if full in self.reserved or full[0] == MARK or path[0].startswith(STAGE_PREFIX):
            raise Refused(e.name, "reserved name in the destination")
        if full in self.reserved_dirs and e.kind != "dir":
            raise Refused(e.name, "reserved name in the destination (it holds files this fetch downloads)")
        if len(os.path.join(self.outdir, *path).encode("utf-8", "surrogateescape")) >= MAX_PATH:
            raise Refused(e.name, "the path in the destination is longer than %d bytes" % (MAX_PATH - 1))
        # every parent must be a directory, in the archive and on disk
        for i in range(1, len(path)):
            parent = path[:i]
            kind, _ = self.kind_of(parent)
            if kind == "symlink":
                raise Refused(e.name, "goes through the symlink %s" % shown("/".join(parent)))
            if kind in ("file", "hardlink"):
                where = "in the archive" if parent in self.model else "in the destination"
                raise Refused(e.name, "%s is a file %s" % (shown("/".join(parent)), where))
            if parent not in self.model:
                self.model[parent] = ("dir", None)
                self.count += 1
        self.receiving_dir_writable(e, path)
        if path in self.model:
            if e.kind == "dir" and self.model[path][0] == "dir":
                return
            if self.model[path][0] == "dir":
                raise Refused(e.name, "is also a directory in the archive")
            raise Refused(e.name, "appears twice in the archive")
        dkind, _ = self.disk_kind(path)
        if dkind == "dir" and e.kind != "dir":
            raise Refused(e.name, "would replace the directory %s in the destination"
                          % shown("/".join(path)))
        if dkind is not None and dkind != "dir" and e.kind == "dir":
            raise Refused(e.name, "would replace the %s %s in the destination"
                          % ("symlink" if dkind == "symlink" else "file", shown("/".join(path))))
        if e.kind == "symlink":
            self.link_target(e)
            self.symlinks.append(e)
        elif e.kind == "hardlink":
            tpath = self.split(e, e.link, "hard link to %s: " % shown(e.link))
            if self.model.get(tpath, (None,))[0] != "file":
                raise Refused(e.name, "hard link to %s: not a regular file extracted earlier "
                              "from this archive" % shown(e.link))
            e.link = tpath
        elif e.kind == "file":
            self.total += e.size
        self.model[path] = (e.kind, e.link)
        self.count += 1
        self.fits()

    def receiving_dir_writable(self, e, path):
        """The directory on disk the move will rename this entry (or its
        first new parent) into must be writable: found now, the archive is
        refused with DEST unchanged, instead of a move that stops half-way
        (a directory of another user of a shared volume, a read-only one)."""
        k = 0
        while k < len(path) - 1:
            parent = path[:k + 1]
            if parent not in self.disk_dirs:
                self.disk_dirs[parent] = self.disk_kind(parent)[0] == "dir"
            if not self.disk_dirs[parent]:
                break
            k += 1
        where = path[:k]
        if where in self.writable_dirs:
            return
        rel = "/".join(where) or "."
        if not os.access(rel, os.W_OK | os.X_OK, dir_fd=self.out_fd):
            raise Refused(e.name, "cannot write into %s (%s)" % (
                shown(os.path.join(self.outdir, *where)), "permission denied or read-only"))
        self.writable_dirs.add(where)

    def fits(self):
        if self.total > self.free:
            raise Refused(ALL, "expand to at least %d bytes (%s), more than the %d bytes (%s) free in %s"
                          % (self.total, human(self.total), self.free, human(self.free),
                             shown(self.outdir)))
        if self.inodes is not None and self.count > self.inodes:
            raise Refused(ALL, "at least %d entries, more than the %d free inodes in %s"
                          % (self.count, self.inodes, shown(self.outdir)))


def free_space(out_fd):
    st = os.fstatvfs(out_fd)
    inodes = st.f_favail if st.f_files else None  # some file systems report no inode limit
    return st.f_bavail * st.f_frsize, inodes


def human(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024.0


# ---- writing -------------------------------------------------------------------

def file_mode(e, default):
    m = e.mode if e.mode is not None else default
    return m & 0o777 & ~0o022  # no setuid/setgid/sticky; umask 022


def set_mtime(mtime, target, **kw):
    """Keep the archive's modification time when the system can hold it."""
    if mtime is None:
        return
    try:
        os.utime(target, (mtime, mtime), **kw)
    except (OverflowError, ValueError):
        pass
    except OSError as err:
        if err.errno != errno.EINVAL:
            raise


def open_dir(root_fd, comps):
    """fd of root/comps, creating directories; never follows a symlink."""
    fd = os.dup(root_fd)
    try:
        for c in comps:
            try:
                os.mkdir(c, 0o755, dir_fd=fd)  # a directory without its own entry
            except FileExistsError:
                pass
            nfd = os.open(c, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_data(e, f, n):
    """The next bytes of a file entry; its data being unreadable (a zip
    entry's CRC, a decompressor's error) refuses the archive, naming it."""
    if f is None:
        return b""
    try:
        return f.read(n)
    except OSError as err:
        if err.errno is not None:
            raise  # an I/O error reading the archive: transient
        raise Refused(e.name, "data not readable: %s" % shown(str(err)))
    except Exception as err:  # zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError ...
        raise Refused(e.name, "data not readable: %s" % shown(str(err) or type(err).__name__))


# errors creating an entry that the archive decides, not the moment
ARCHIVE_ERRNOS = {errno.EMLINK, errno.ENAMETOOLONG, errno.EILSEQ, errno.EFBIG, errno.EINVAL}


def write_one(e, f, want, stage_fd, dirs):
    """One checked entry into the staging directory."""
    path = want.path
    pfd = open_dir(stage_fd, path[:-1])
    try:
        leaf = path[-1]
        if e.kind == "dir":
            try:
                os.mkdir(leaf, 0o700, dir_fd=pfd)
            except FileExistsError:
                pass
            dirs.append((path, (file_mode(e, 0o755) | 0o700), e.mtime))
        elif e.kind == "symlink":
            os.symlink(e.link, leaf, dir_fd=pfd)
            set_mtime(e.mtime, leaf, dir_fd=pfd, follow_symlinks=False)
        elif e.kind == "hardlink":
            src = open_dir(stage_fd, want.link[:-1])
            try:
                os.link(want.link[-1], leaf, src_dir_fd=src, dst_dir_fd=pfd,
                        follow_symlinks=False)
            finally:
                os.close(src)
        else:
            fd = os.open(leaf, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600,
                         dir_fd=pfd)
            try:
                left = e.size
                while True:
                    chunk = read_data(e, f, min(CHUNK, left + 1))
                    if not chunk:
                        break
                    if len(chunk) > left:
                        raise Refused(e.name, "more data than the %d bytes its header declares"
                                      % e.size)
                    left -= len(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view):]
                if left:
                    raise Refused(e.name, "%d bytes shorter than its header declares" % left)
                os.fchmod(fd, file_mode(e, 0o644))
                set_mtime(e.mtime, fd)
            finally:
                os.close(fd)
    finally:
        os.close(pfd)


def write_entries(reader, checked, stage_fd):
    """Pass 2: the same entries again, written into the staging directory."""
    dirs = []
    it = iter(checked)
    dropped = 0
    for e, f in reader.entries(with_data=True):
        want = next(it, None)
        if want is None or want.sig != e.sig:
            raise Refused(e.name, "the archive changed while it was extracted")
        path = want.path
        if not path:
            continue
        if e.mode is not None and e.mode & 0o7000 and e.kind in ("file", "dir"):
            dropped += 1
        try:
            write_one(e, f, want, stage_fd, dirs)
        except OSError as err:
            if err.errno in ARCHIVE_ERRNOS:
                # a property of the archive (70000 hard links to one file, a
                # name this file system cannot hold): retrying cannot help
                raise Refused(e.name, "cannot be created on this volume: %s" % os.strerror(err.errno))
            raise
    if next(it, None) is not None:
        raise Refused(ALL, "the archive changed while it was extracted")
    for path, mode, mtime in sorted(dirs, key=lambda d: -len(d[0])):
        pfd = open_dir(stage_fd, path[:-1])
        try:
            os.chmod(path[-1], mode, dir_fd=pfd, follow_symlinks=True)
            set_mtime(mtime, path[-1], dir_fd=pfd)
        finally:
            os.close(pfd)
    return dropped


def move_into_place(src_fd, dst_fd):
    """Rename every staged entry into the destination; directories that
    exist on both sides are merged (the check made sure types agree).
    Iterative, one open directory per level, never through a symlink (a
    path may nest 2000 directories deep)."""
    stack = [(src_fd, dst_fd, iter(os.listdir(src_fd)), None)]
    try:
        while stack:
            sfd, dfd, names, name = stack[-1]
            n = next(names, None)
            if n is None:
                stack.pop()
                if name is not None:  # a merged directory: the staged one is empty now
                    os.close(sfd)
                    os.close(dfd)
                    os.rmdir(name, dir_fd=stack[-1][0])
                continue
            try:
                st = os.lstat(n, dir_fd=dfd)
            except FileNotFoundError:
                st = None
            sst = os.lstat(n, dir_fd=sfd)
            if st is not None and stat.S_ISDIR(st.st_mode) and stat.S_ISDIR(sst.st_mode):
                s2 = os.open(n, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=sfd)
                try:
                    d2 = os.open(n, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
                except BaseException:
                    os.close(s2)
                    raise
                stack.append((s2, d2, iter(os.listdir(s2)), n))
            else:
                os.rename(n, n, src_dir_fd=sfd, dst_dir_fd=dfd)
    finally:
        for sfd, dfd, _, name in stack:
            if name is not None:
                os.close(sfd)
                os.close(dfd)


def remove_at(dir_fd, name):
    """Remove dir_fd/name and everything below it, never through a symlink
    (a staging directory may have been replaced by one); iterative, and
    staged directories may be read-only (0555 in the archive)."""
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)  # not ours: never walk through it
        return
    stack = []
    try:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        stack.append((dir_fd, name, fd, iter(os.listdir(fd))))
        os.fchmod(fd, 0o700)
        while stack:
            pfd, n, fd, names = stack[-1]
            child = next(names, None)
            if child is None:
                stack.pop()
                os.close(fd)
                os.rmdir(n, dir_fd=pfd)
                continue
            if stat.S_ISDIR(os.lstat(child, dir_fd=fd).st_mode):
                cfd = os.open(child, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                stack.append((fd, child, cfd, iter(os.listdir(cfd))))
                os.fchmod(cfd, 0o700)
            else:
                os.unlink(child, dir_fd=fd)
    finally:
        for _, _, fd, _ in stack:
            os.close(fd)


def lock(dest, name):
    """Lock DEST for extracting NAME: flock(LOCK_EX) on DEST, after
    LOCK_SH on each of its parents (top down, so nothing deadlocks).  A
    re-run of the fetch (another Job, same DEST) or another pod of it waits
    instead of deciding on a directory that is half-way through a move, or
    removing a staging directory in use; so does an extraction into a
    directory above or below DEST (another fetch with a nested DEST), whose
    links could change what a link of this archive resolves through.
    Returns the open fds; closing them unlocks."""
    real = os.path.realpath(dest)
    parts = [c for c in real.split("/") if c]
    fds = []
    warned = False
    try:
        for i in range(len(parts) + 1):
            path = "/" + "/".join(parts[:i])
            how = fcntl.LOCK_EX if i == len(parts) else fcntl.LOCK_SH
            try:
                fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except PermissionError:
                if how == fcntl.LOCK_EX:
                    raise
                continue  # a parent this user may pass through but not read
            fds.append(fd)
            try:
                fcntl.flock(fd, how | fcntl.LOCK_NB)
            except BlockingIOError:
                say("%s: waiting for another extraction into %s" % (shown(name), shown(path)))
                fcntl.flock(fd, how)
            except OSError as err:  # a file system without flock on directories
                if not warned:
                    say("warning: %s: cannot lock %s (%s); extracting without it"
                        % (shown(name), shown(path), err))
                    warned = True
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise
    return fds


def extract(dest, name, listed):
    """Extract DEST/NAME into its directory; returns an exit code.  `listed`
    are the names of every file of the fetch (all pods' shares)."""
    path = os.path.join(dest, name)
    fmt, comp = archive_format(name)
    if fmt is None:
        say("%s: not an archive, nothing to extract" % shown(name))
        return 0
    mark = os.path.join(dest, MARK, name)
    try:
        with open(mark + ".json") as f:
            download = json.load(f)
    except (OSError, ValueError):
        say("%s: not downloaded (no marker %s.json); not extracting" % (shown(name), shown(mark)))
        return EXIT_TRANSIENT
    try:
        lock_fds = lock(dest, name)
    except OSError as err:
        return failed(name, err)
    try:
        return extract_locked(dest, name, listed, path, fmt, comp, mark, download)
    finally:
        for fd in lock_fds:
            os.close(fd)


def extract_locked(dest, name, listed, path, fmt, comp, mark, download):
    outdir = os.path.dirname(path)
    base = os.path.basename(name)
    try:
        with open(mark + ".extracted") as f:
            if json.load(f).get("download") == download:
                say("%s: already extracted" % shown(name))
                return 0
    except (OSError, ValueError, AttributeError):
        pass

    rel = tuple(c for c in os.path.dirname(name).split("/") if c)
    reserved = set()
    for n in listed:
        comps = tuple(c for c in n.split("/") if c)
        if comps:
            reserved.add(comps)
            reserved.add(comps[:-1] + (comps[-1] + ".part",))
    checked = []
    stage = STAGE_PREFIX + base
    out_fd = fh = None
    try:
        # every decision and every write relative to this one directory
        out_fd = os.open(outdir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        checker = Checker(out_fd, outdir, fmt == "zip", rel, reserved)
        # one open file for both passes: what is written is what was checked
        fh = os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb")
        reader = ZipReader(fh) if fmt == "zip" else TarReader(fh, comp)
        # pass 1: decide on every entry before writing anything
        for e, _ in reader.entries():
            checker.add(e)
            checked.append(e)
        checker.finish()
        # pass 2: into a private staging directory on the same file system
        remove_at(out_fd, stage)  # left by an interrupted pod
        os.mkdir(stage, 0o700, dir_fd=out_fd)
        stage_fd = os.open(stage, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=out_fd)
        try:
            dropped = write_entries(reader, checked, stage_fd)
            move_into_place(stage_fd, out_fd)
        finally:
            os.close(stage_fd)
        os.rmdir(stage, dir_fd=out_fd)
    except Refused as r:
        cleanup(out_fd, outdir, stage)
        refuse(name, r.entry, r.reason)
        return EXIT_REFUSED
    except NoTool as n:
        cleanup(out_fd, outdir, stage)
        cannot(name, str(n))
        return EXIT_NO_TOOL
    except OSError as err:
        cleanup(out_fd, outdir, stage)
        if err.errno is None:
            # decompressors report corrupt data as OSError without errno (gzip, bz2)
            refuse(name, ALL, "not a readable %s archive: %s" % (fmt, shown(str(err))))
            return EXIT_REFUSED
        return failed(name, err)
    except Exception as err:  # tarfile/zipfile/lzma/zlib/zstd: a corrupt archive
        cleanup(out_fd, outdir, stage)
        refuse(name, ALL, "not a readable %s archive: %s" % (fmt, shown(str(err) or type(err).__name__)))
        return EXIT_REFUSED
    finally:
        if fh is not None:
            fh.close()
        if out_fd is not None:
            os.close(out_fd)
    tmp = mark + ".extracted.tmp"
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644), "w") as f:
        json.dump({"archive": name, "download": download,
                   "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f)
        f.write("\n")
    os.replace(tmp, mark + ".extracted")
    note = ""
    if dropped:
        note = "; setuid/setgid/sticky bits dropped on %d entr%s" % (dropped, "y" if dropped == 1 else "ies")
    say("%s: extracted %d entries (%s) into %s%s" % (shown(name), checker.count, human(checker.total),
                                                   shown(outdir), note))
    return 0


def failed(name, err):
    """An I/O error while extracting: transient (exit 1), the next pod retries."""
    say("%s: extraction failed: %s" % (shown(name), shown(str(err))))
    print("eidf-fetch error code=%d file=%s reason=extraction failed: %s"
          % (EXIT_TRANSIENT, shown(name), shown(str(err))))
    sys.stdout.flush()
    return EXIT_TRANSIENT


def cleanup(out_fd, outdir, stage):
    if out_fd is None:
        return
    try:
        remove_at(out_fd, stage)
    except (OSError, RecursionError) as err:
        say("warning: could not remove the staging directory %s: %s"
            % (shown(os.path.join(outdir, stage)), shown(str(err))))


def refuse(name, entry, reason):
    msg = "refusing to extract: %s: %s" % (shown(entry), reason)
    say("%s: %s; the archive is kept, nothing was extracted" % (shown(name), msg))
    print("eidf-fetch error code=%d file=%s reason=%s" % (EXIT_REFUSED, shown(name), msg))
    sys.stdout.flush()


def cannot(name, why):
    say("%s: cannot extract: %s; use --extract-image with an image that has it" % (shown(name), why))
    print("eidf-fetch error code=%d file=%s reason=cannot extract: %s" % (EXIT_NO_TOOL, shown(name), why))
    sys.stdout.flush()


def main(argv):
    dest, listfile, shards = None, None, 1
    i = 0
    try:
        while i < len(argv):
            a = argv[i]
            if a == "--dest":
                dest = argv[i + 1]
            elif a == "--list":
                listfile = argv[i + 1]
            elif a == "--shards":
                shards = int(argv[i + 1])
            else:
                raise ValueError("unknown option %s" % a)
            i += 2
        if dest is None or shards < 1:
            raise ValueError("--dest is required")
        index = int(os.environ.get("JOB_COMPLETION_INDEX", "0"))
    except (IndexError, ValueError) as err:
        sys.stderr.write("eidf-fetch: error: fetch-extract: %s\n" % err)
        return EXIT_USAGE
    os.umask(0o022)
    if listfile:
        with open(listfile, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    else:
        text = os.environ.get("EIDF_FETCH_LIST", "")
    names, listed = [], []
    k = 0
    for line in text.split("\n"):
        if not line:
            continue
        # URL, sha256, name, then (listed sources) key=value fields
        parts = line.split("\t", 3)
        if len(parts) >= 3:
            listed.append(parts[2])
            if k % shards == index:
                names.append(parts[2])
        k += 1
    worst = 0
    for name in names:
        rc = extract(dest, name, listed)
        # a permanent failure (5, 6) decides the exit code over a transient one
        if rc in (EXIT_REFUSED, EXIT_NO_TOOL):
            worst = worst if worst in (EXIT_REFUSED, EXIT_NO_TOOL) else rc
        elif rc and not worst:
            worst = rc
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
