using System.Runtime.InteropServices;
using System.Text;

namespace FineTuning;

/// <summary>
/// Writes a file through a temporary sibling, flushed to disk, then renamed over the target, then makes the rename
/// itself durable (fsync of the folder): a reader, a crash or a power cut never sees half a file — only the old file
/// or the new one. UTF-8 without BOM for text, as Python writes JSON and vocab files.
/// </summary>
internal static class AtomicFile
{
    static readonly UTF8Encoding Utf8NoBom = new(encoderShouldEmitUTF8Identifier: false);

    public static void WriteAllText(string path, string text) => Write(path, stream => stream.Write(Utf8NoBom.GetBytes(text)));

    /// <summary>
    /// Writes <paramref name="path"/> with <paramref name="write"/>. On any failure (a full disk, an unwritable
    /// folder) the exception propagates, the temporary file is removed and the previous file, if any, is untouched.
    /// </summary>
    public static void Write(string path, Action<Stream> write, int bufferSize = 1 << 16)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        // Same folder, so the rename is atomic (no cross-device copy); hidden and unique, so concurrent saves don't collide.
        var temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize))
            {
                var stream = FileWriteHooks.WrapStream?.Invoke(full, file) ?? file;
                write(stream);
                stream.Flush();
                file.Flush(flushToDisk: true);
            }
            FileWriteHooks.BeforeRename?.Invoke(full);
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
        SyncDirectory(folder);
    }

    /// <summary>
    /// Flushes a folder's entries (names created, renamed or removed in it) to disk, so a rename survives a power cut
    /// and not only a process crash. Best effort: a no-op on Windows (NTFS journals its metadata) and on file systems
    /// that cannot sync a folder.
    /// </summary>
    public static void SyncDirectory(string folder)
    {
        if (OperatingSystem.IsWindows()) return;
        int fd = Posix.open(folder, Posix.O_RDONLY);
        if (fd < 0) return;
        try { Posix.fsync(fd); }
        finally { Posix.close(fd); }
    }

    /// <summary>
    /// Reads a file without taking the advisory lock .NET's <see cref="FileStream"/> takes on Unix, so a file another
    /// process holds with <see cref="FileShare.None"/> (a lock file) can still be read. Null when it cannot be read.
    /// </summary>
    public static string? ReadUnlocked(string path, int maxBytes = 4096)
    {
        try
        {
            if (OperatingSystem.IsWindows()) return File.ReadAllText(path);
            int fd = Posix.open(path, Posix.O_RDONLY);
            if (fd < 0) return null;
            using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle((IntPtr)fd, ownsHandle: true);
            var buffer = new byte[maxBytes];
            int n = RandomAccess.Read(handle, buffer, 0);
            return Encoding.UTF8.GetString(buffer, 0, n);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>The three libc calls .NET has no API for: open a folder, fsync it, close it.</summary>
    static class Posix
    {
        public const int O_RDONLY = 0;

        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        public static extern int close(int fd);
    }
}
