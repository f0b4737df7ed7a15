using FineTuning.Tests.Hub;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// Two processes (tools/Reliability <c>hub-fetch</c>, started with <c>dotnet exec</c>) downloading the same Hub file into
/// one cache at the same moment end with one intact blob: the <c>.locks</c> file lock lets one download while the
/// other waits, then links the finished blob. And when the downloading process is killed (SIGKILL) half-way, the
/// waiting one takes the lock over and resumes the partial <c>.incomplete</c> file with a Range request. Either way the
/// stand-in Hub sees one full GET, or one plus one resumed.
/// </summary>
public sealed class HubConcurrencyTests : IDisposable
{
    const string RepoId = "org/tiny";
    const string FileName = "model.safetensors";
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    readonly TempFolder tmp = new();
    readonly StandInHub hub = new();
    readonly StandInHub.HubFile file;

    public HubConcurrencyTests()
    {
        var weights = new byte[2 << 20];
        new Random(7).NextBytes(weights);
        file = hub.AddRepo(RepoId, files: new Dictionary<string, byte[]> { [FileName] = weights }).Files[FileName];
    }

    public void Dispose()
    {
        hub.Dispose();
        tmp.Dispose();
    }

    string Cache => tmp.File("hub");
    string Blobs => Path.Combine(Cache, "models--org--tiny", "blobs");

    /// <summary>The child's environment: the stand-in Hub, the shared cache, online (the test process is offline).</summary>
    Dictionary<string, string> Environment => new()
    {
        ["HF_ENDPOINT"] = hub.Endpoint,
        ["HF_HUB_CACHE"] = Cache,
        ["HF_HUB_OFFLINE"] = "0",
        ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1",
        ["HF_HUB_ETAG_TIMEOUT"] = "30",
        ["HF_HUB_DOWNLOAD_TIMEOUT"] = "300", // a read held back by the stand-in (waiting for the test) is not a timeout
    };

    ChildProcess Fetch() => new(Environment, "hub-fetch", RepoId, FileName);

    int Heads => hub.RequestsTo($"/resolve/main/{FileName}", "HEAD").Count;

    /// <summary>Waits for a successful exit; returns the PATH and SHA256 the child printed.</summary>
    static (string Path, string Sha256) Succeeded(ChildProcess child, string which)
    {
        int code = child.WaitForExit(Patience);
        Assert.True(code == 0, $"{which} exited with {code}: {child.Errors}");
        string Line(string key) => child.Output.Single(l => l.StartsWith(key + " ", StringComparison.Ordinal))[(key.Length + 1)..];
        return (Line("PATH"), Line("SHA256"));
    }

    void AssertOneIntactBlob(string path)
    {
        Assert.Equal([file.Sha256], Directory.GetFiles(Blobs).Select(Path.GetFileName)); // no .incomplete, no second copy
        Assert.Equal(file.Sha256, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))));
        Assert.Equal(Path.Combine(Cache, "models--org--tiny", "snapshots", StandInHub.CommitFor(RepoId), FileName), path);
        Assert.True(File.Exists(Path.Combine(Cache, ".locks", "models--org--tiny", file.Sha256 + ".lock")));
    }

    static void WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new Xunit.Sdk.XunitException($"timed out waiting until {what}");
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void Two_Processes_Fetching_The_Same_File_At_Once_End_With_One_Intact_Blob()
    {
        // The file's bytes leave the Hub only once both processes have asked for it (both HEADs), and slowly (~0.8 s):
        // the two downloads overlap for certain, and the one without the lock waits for the other.
        hub.HoldNext("/cdn/", () => Heads >= 2, method: "GET");
        hub.ThrottleNext("/cdn/", TimeSpan.FromMilliseconds(25));
        using var first = Fetch();
        using var second = Fetch();

        var a = Succeeded(first, "the first process");
        var b = Succeeded(second, "the second process");
        Assert.Equal(file.Sha256, a.Sha256);
        Assert.Equal(file.Sha256, b.Sha256);
        Assert.Equal(a.Path, b.Path);
        AssertOneIntactBlob(a.Path);
        Assert.Equal(2, Heads);
        var get = Assert.Single(hub.RequestsTo("/cdn/", "GET")); // one download for both
        Assert.Null(get.Range);
    }

    [Fact]
    public void Process_Killed_Mid_Download_Leaves_A_Partial_File_The_Waiting_Process_Resumes()
    {
        // The first GET sends 1 MB, then holds the rest back until the test has killed its process: the kill lands
        // mid-download for certain, however slowly a loaded machine starts the second process (no timed window).
        bool killed = false;
        hub.HoldBodyNext("/cdn/", 1 << 20, () => Volatile.Read(ref killed));
        var incomplete = Path.Combine(Blobs, file.Sha256 + ".incomplete");
        using var doomed = Fetch();
        // Killed once at least a write buffer (256 KB) of the file is on disk, while the other process waits for the lock.
        WaitUntil(() => File.Exists(incomplete) && new FileInfo(incomplete).Length >= 256 << 10, "the first process had written part of the file");
        using var survivor = Fetch();
        WaitUntil(() => Heads >= 2, "the second process asked the Hub for the file");
        doomed.Kill();
        Volatile.Write(ref killed, true);

        var (path, sha) = Succeeded(survivor, "the surviving process");
        Assert.Equal(file.Sha256, sha);
        AssertOneIntactBlob(path);
        var gets = hub.RequestsTo("/cdn/", "GET");
        Assert.Equal(2, gets.Count);
        Assert.Null(gets[0].Range);                              // the killed process's full GET
        // The survivor's resumed one, from where the killed process stopped.
        Assert.Matches("^bytes=[0-9]+-$", gets[1].Range);
        Assert.InRange(long.Parse(gets[1].Range!["bytes=".Length..^1]), 256 << 10, file.Size - 1);
    }
}
