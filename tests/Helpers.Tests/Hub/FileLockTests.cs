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
