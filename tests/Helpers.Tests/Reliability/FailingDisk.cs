using System.Diagnostics;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// A disk that fills up, through the library's <see cref="FileWriteHooks"/>: writes to files whose final path
/// matches <c>where</c> throw <see cref="IOException"/> "No space left on device" once <c>afterBytes</c> bytes of that
/// file are written. Disposing removes the hooks.
/// </summary>
sealed class FailingDisk : IDisposable
{
    public const string Message = "No space left on device";

    public FailingDisk(Func<string, bool> where, long afterBytes)
    {
        FileWriteHooks.WrapStream = (path, stream) => where(path) ? new FullStream(stream, afterBytes, this) : stream;
    }

    /// <summary>Files that got the error.</summary>
    public List<string> Failed { get; } = [];

    /// <summary>A rename that fails instead (e.g. publishing a checkpoint folder).</summary>
    public static FailingDisk OnRename(Func<string, bool> where)
    {
        var disk = new FailingDisk(_ => false, 0);
        FileWriteHooks.BeforeRename = path =>
        {
            if (!where(path)) return;
            disk.Failed.Add(path);
            throw new IOException($"{Message} : '{path}'");
        };
        return disk;
    }

    public void Dispose()
    {
        FileWriteHooks.WrapStream = null;
        FileWriteHooks.BeforeRename = null;
    }

    sealed class FullStream(Stream inner, long capacity, FailingDisk disk) : Stream
    {
        long written;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => written;
        public override long Position { get => written; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            long room = capacity - written;
            if (buffer.Length > room)
            {
                inner.Write(buffer[..(int)Math.Max(0, room)]); // what fits is written, as on a real disk
                inner.Flush();
                var path = inner is FileStream f ? f.Name : "?";
                disk.Failed.Add(path);
                throw new IOException($"{Message} : '{path}'");
            }
            inner.Write(buffer);
            written += buffer.Length;
        }
    }
}

/// <summary>
/// A <see cref="FactAttribute"/> for tests that mount a small tmpfs (a real file system that fills up): skipped, with
/// the reason, where this process may not mount one (not root, or a container without CAP_SYS_ADMIN).
/// </summary>
public sealed class TmpfsFactAttribute : FactAttribute
{
    static readonly Lazy<string?> Reason = new(() =>
    {
        if (!OperatingSystem.IsLinux()) return "tmpfs mounts need Linux";
        var probe = Path.Combine(Path.GetTempPath(), $"finetuning-tmpfs-probe-{Guid.NewGuid():N}");
        Directory.CreateDirectory(probe);
        try
        {
            if (Tmpfs.Run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", probe) is { } error) return $"cannot mount a tmpfs here ({error})";
            Tmpfs.Run("umount", probe);
            return null;
        }
        finally
        {
            try { Directory.Delete(probe); } catch (IOException) { }
        }
    });

    public TmpfsFactAttribute() => Skip = Reason.Value;
}

/// <summary>A tmpfs of a given size mounted on a fresh folder; unmounted and removed on disposal.</summary>
sealed class Tmpfs : IDisposable
{
    public Tmpfs(long bytes, bool readOnly = false)
    {
        Directory.CreateDirectory(Path);
        var options = $"size={bytes}" + (readOnly ? ",ro" : "");
        if (Run("mount", "-t", "tmpfs", "-o", options, "tmpfs", Path) is { } error)
            throw new Xunit.Sdk.XunitException($"mount -t tmpfs -o {options} failed: {error}");
    }

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"finetuning-tmpfs-{Guid.NewGuid():N}");

    public void Dispose()
    {
        Run("umount", Path);
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }

    /// <summary>Runs a command; null when it succeeded, otherwise its error output.</summary>
    internal static string? Run(string command, params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo(command) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
            foreach (var a in arguments) info.ArgumentList.Add(a);
            using var process = Process.Start(info)!;
            var error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return process.ExitCode == 0 ? null : $"exit {process.ExitCode}: {error.Trim()}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return e.Message;
        }
    }
}
