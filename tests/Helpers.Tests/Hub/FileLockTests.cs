using FineTuning.Hub;

namespace FineTuning.Tests.Hub;

/// <summary>The .locks file lock: exclusive between holders (two opens of the file, as two processes would have),
/// released on disposal, and a waiter that gives up says which lock.</summary>
public sealed class FileLockTests : IDisposable
{
    readonly TempFolder tmp = new();

    public void Dispose() => tmp.Dispose();

    [Fact]
    public async Task Second_Holder_Waits_Until_The_First_Releases()
    {
        var path = tmp.File(".locks/models--a--b/etag.lock");
        var first = await FileLock.AcquireAsync(path, TimeSpan.FromSeconds(5), "test");
        var second = FileLock.AcquireAsync(path, TimeSpan.FromSeconds(5), "test");
        await Task.Delay(200);
        Assert.False(second.IsCompleted);
        first.Dispose();
        using var acquired = await second.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task Waiting_Too_Long_Names_The_Lock()
    {
        var path = tmp.File("x.lock");
        using var held = await FileLock.AcquireAsync(path, TimeSpan.FromSeconds(5), "test");
        var e = await Assert.ThrowsAsync<TimeoutException>(() => FileLock.AcquireAsync(path, TimeSpan.FromMilliseconds(150), "weights.safetensors"));
        Assert.Contains(path, e.Message);
        Assert.Contains("weights.safetensors", e.Message);
    }
}

/// <summary>The lock against another process — Python, whose <c>filelock</c> (huggingface_hub's) takes the same
/// <c>flock</c>: while Python holds a blob's lock, our download of that blob waits.</summary>
public sealed class CrossProcessLockTests : IDisposable
{
    readonly TempFolder tmp = new();
    readonly StandInHub hub = new();

    public void Dispose()
    {
        hub.Dispose();
        tmp.Dispose();
    }

    [PythonFact]
    public void Download_Waits_While_Another_Process_Holds_The_Blobs_Lock()
    {
        var weights = new byte[50_000];
        new Random(3).NextBytes(weights);
        var file = hub.AddFile(hub.AddRepo("org/locked"), "weights.safetensors", () => new MemoryStream(weights, writable: false));
        var s = HubTestSettings.For(hub, tmp);
        var lockPath = Path.Combine(s.HubCache, ".locks", "models--org--locked", file.Sha256 + ".lock");
        Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);

        using var python = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("python3")
        {
            ArgumentList = { "-c", "import fcntl, sys, time\nf = open(sys.argv[1], 'w')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\ntime.sleep(1.0)", lockPath },
            RedirectStandardOutput = true,
        })!;
        Assert.Equal("locked", python.StandardOutput.ReadLine());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var path = FileDownload.HfHubDownload("org/locked", "weights.safetensors", settings: s);
        Assert.True(python.HasExited || python.WaitForExit(100), "the download finished while Python still held the lock");
        Assert.True(clock.Elapsed > TimeSpan.FromMilliseconds(500), $"the download did not wait for the lock ({clock.Elapsed})");
        Assert.Equal(weights, File.ReadAllBytes(path));
    }
}

/// <summary>A <see cref="FactAttribute"/> skipped (with the reason) where no python3 is on the PATH.</summary>
public sealed class PythonFactAttribute : FactAttribute
{
    public PythonFactAttribute()
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, "python3")));
        if (OperatingSystem.IsWindows()) Skip = "flock is Unix-only (on Windows the lock is a sharing lock, not Python's)";
        else if (!found) Skip = "python3 is not on the PATH: the cross-process lock test needs a second process that takes a flock";
    }
}
