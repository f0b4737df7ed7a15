namespace FineTuning.Hub;

/// <summary>
/// An exclusive lock on a file, held across processes: huggingface_hub's <c>.locks/{repo folder}/{etag}.lock</c>, so two
/// processes (or threads) downloading the same blob never write it at the same time.
/// </summary>
/// <remarks>
/// The lock is the open file itself: .NET opens it with <see cref="FileShare.None"/>, which on Linux and macOS is an
/// exclusive <c>flock</c> — the same lock Python's <c>filelock</c> takes, so a Python download and ours exclude each
/// other too — and on Windows a sharing lock. The operating system releases it when the process dies, so a crash never
/// leaves a stale lock. Like huggingface_hub, the lock file itself is left in place.
/// </remarks>
internal sealed class FileLock : IDisposable
{
    static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    static readonly TimeSpan ReportAfter = TimeSpan.FromSeconds(5);

    readonly FileStream stream;

    FileLock(FileStream stream) => this.stream = stream;

    /// <summary>The lock file's path.</summary>
    public string Path => stream.Name;

    /// <summary>Waits until the lock is free and takes it.</summary>
    /// <param name="path">the lock file (created with its folder when absent).</param>
    /// <param name="timeout">how long to wait; <see cref="Timeout.InfiniteTimeSpan"/> for as long as it takes.</param>
    /// <param name="what">what is being protected, for the message logged while waiting.</param>
    /// <param name="cancellationToken">stops waiting.</param>
    /// <exception cref="TimeoutException">The lock was still held after <paramref name="timeout"/>.</exception>
    public static async Task<FileLock> AcquireAsync(string path, TimeSpan timeout, string what, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var started = Environment.TickCount64;
        bool reported = false;
        while (true)
        {
            try
            {
                return new FileLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (File.Exists(path))
            {
                // Held by another process or thread: wait and try again.
            }
            var waited = TimeSpan.FromMilliseconds(Environment.TickCount64 - started);
            if (timeout != Timeout.InfiniteTimeSpan && waited >= timeout)
                throw new TimeoutException($"{what}: the lock {path} was still held by another download after {waited.TotalSeconds:0.#} s");
            if (!reported && waited >= ReportAfter)
            {
                Logging.Info($"{what}: waiting for another process to finish downloading it (lock {path})");
                reported = true;
            }
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => stream.Dispose();
}
