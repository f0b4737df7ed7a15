using System.Globalization;

namespace FineTuning.Training;

/// <summary>
/// The lock that keeps two Trainers from writing the same output folder: <c>OutputDir/.trainer.lock</c>, opened
/// with <see cref="FileShare.None"/>, which .NET turns into an exclusive <c>flock</c> on Linux and macOS and a share
/// mode on Windows. The operating system drops it when the process ends, however it ends, so a trainer that was
/// killed never blocks the next one (its file stays until the next run ends). It holds the owner's process id, host
/// and start time, for the message the second trainer gets, and a random id.
/// </summary>
/// <remarks>
/// <para>Released, the lock removes its file, so no <c>.trainer.lock</c> is left in a finished run's folder. It removes
/// it while still holding the lock; a process that opened the file just before then holds a lock on a deleted file, so
/// <see cref="Acquire"/> checks, once locked, that the name still leads to the file it locked (its random id is
/// there) and tries again otherwise. Without that check, removing the file would let two processes lock two different
/// files of the same name.</para>
/// </remarks>
/// <remarks>Advisory on Unix: it guards against other Trainers, not against other programs. .NET skips the flock
/// when <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> is set, and some network file systems ignore it.</remarks>
internal sealed class OutputDirLock : IDisposable
{
    public const string FileName = ".trainer.lock";

    /// <summary>A sharing violation: the file is open elsewhere (Windows: ERROR_SHARING_VIOLATION as HResult) or its
    /// flock is held (Unix: .NET puts the raw errno, EWOULDBLOCK, in the HResult: 11 on Linux, 35 on macOS).</summary>
    static bool IsSharingViolation(IOException e) =>
        e.HResult == unchecked((int)0x80070020) || (OperatingSystem.IsLinux() && e.HResult == 11) || (OperatingSystem.IsMacOS() && e.HResult == 35);

    FileStream? stream;

    readonly string content;   // what this lock wrote: its file is still at Path while the name reads this

    OutputDirLock(FileStream stream, string path, string content)
    {
        this.stream = stream;
        Path = path;
        this.content = content;
    }

    /// <summary>The lock file.</summary>
    public string Path { get; }

    /// <summary>Takes the lock of <paramref name="outputDir"/> (creating the folder), or throws.</summary>
    /// <exception cref="IOException">Another Trainer, in this process or another, holds it; the message names its
    /// process and says what to do.</exception>
    public static OutputDirLock Acquire(string outputDir)
    {
        var folder = System.IO.Path.GetFullPath(outputDir);
        var path = System.IO.Path.Combine(folder, FileName);
        for (int attempt = 1; ; attempt++)
        {
            var (stream, content) = TryAcquire(folder, path);
            // Locked, but maybe a file its previous holder removed before this process's lock took hold: then the name
            // leads elsewhere (or nowhere). Close that one (without removing anything) and lock what the name leads to.
            if (OperatingSystem.IsWindows() || AtomicFile.ReadUnlocked(path) == content)
                return new OutputDirLock(stream, path, content);
            stream.Dispose();
            if (attempt == 20)
                throw new IOException($"Could not lock the output directory {folder}: its lock file {path} kept being replaced by other processes.");
        }
    }

    static (FileStream Stream, string Content) TryAcquire(string folder, string path)
    {
        FileStream stream;
        try
        {
            Directory.CreateDirectory(folder);
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsSharingViolation(e))
        {
            var owner = AtomicFile.ReadUnlocked(path)?.Split('\n')[0].Trim();
            throw new IOException(
                $"The output directory {folder} is in use by another Trainer"
                + (string.IsNullOrEmpty(owner) ? "" : $" ({owner})")
                + ": two trainers writing the same folder would mix their checkpoints. Wait for it to finish, stop it, "
                + $"or give this one another OutputDir. (The lock, {path}, is released as soon as that process exits, "
                + "even if it is killed.)", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (File.Exists(folder))
                throw new IOException($"The output directory {folder} is a file, not a folder. Give OutputDir a folder path.", e);
            throw new IOException($"The output directory {folder} cannot be written: {e.Message.TrimEnd('.', ' ')}. "
                + "Give OutputDir a folder this process may create and write.", e);
        }
        var self = string.Create(CultureInfo.InvariantCulture,
            $"process {Environment.ProcessId} on {Environment.MachineName}, since {DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC");
        var content = self + "\n" + Guid.NewGuid().ToString("N") + "\n";
        stream.SetLength(0);
        stream.Write(System.Text.Encoding.UTF8.GetBytes(content));
        stream.Flush();
        return (stream, content);
    }

    /// <summary>Removes the lock's file (while still holding the lock), then releases the lock.</summary>
    public void Dispose()
    {
        if (stream is null) return;
        try
        {
            if (AtomicFile.ReadUnlocked(Path) == content) File.Delete(Path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind (e.g. Windows refuses to delete an open file): harmless, the next run takes it over.
        }
        stream.Dispose();
        stream = null;
    }
}
