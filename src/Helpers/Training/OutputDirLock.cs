using System.Globalization;

namespace FineTuning.Training;

/// <summary>
/// The lock that keeps two Trainers from writing the same output folder: <c>OutputDir/.trainer.lock</c>, opened
/// with <see cref="FileShare.None"/>, which .NET turns into an exclusive <c>flock</c> on Linux and macOS and a share
/// mode on Windows. The operating system drops it when the process ends, however it ends, so a trainer that was
/// killed never blocks the next one; the file itself stays (removing it would let two processes lock two different
/// files of the same name). It holds the owner's process id, host and start time, for the message the second
/// trainer gets.
/// </summary>
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

    OutputDirLock(FileStream stream, string path)
    {
        this.stream = stream;
        Path = path;
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
        FileStream stream;
        try
        {
            Directory.CreateDirectory(folder);
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (IsSharingViolation(e))
        {
            var owner = AtomicFile.ReadUnlocked(path)?.Trim();
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
        stream.SetLength(0);
        var bytes = System.Text.Encoding.UTF8.GetBytes(self + "\n");
        stream.Write(bytes);
        stream.Flush();
        return new OutputDirLock(stream, path);
    }

    /// <summary>Releases the lock (the file stays).</summary>
    public void Dispose()
    {
        stream?.Dispose();
        stream = null;
    }
}
