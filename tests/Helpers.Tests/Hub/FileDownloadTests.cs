using System.Security.Cryptography;
using System.Text;
using FineTuning.Hub;

namespace FineTuning.Tests.Hub;

/// <summary>
/// <see cref="FileDownload.HfHubDownload"/> against the stand-in Hub: the cache layout huggingface_hub writes, cache
/// hits without the network, offline mode, resumed and retried downloads, checksums, hostile names, tokens.
/// </summary>
public sealed class FileDownloadTests : IDisposable
{
    const string RepoId = "org/tiny";
    static readonly byte[] Config = Encoding.UTF8.GetBytes("{\"model_type\": \"bert\"}\n");
    static readonly byte[] Weights = RandomBytes(300_000, seed: 1);

    readonly TempFolder tmp = new();
    readonly StandInHub hub = new();
    readonly StandInHub.Repo repo;

    public FileDownloadTests()
    {
        repo = hub.AddRepo(RepoId, files: new Dictionary<string, byte[]> { ["config.json"] = Config, ["weights.safetensors"] = Weights });
    }

    public void Dispose()
    {
        hub.Dispose();
        tmp.Dispose();
    }

    static byte[] RandomBytes(int n, int seed)
    {
        var bytes = new byte[n];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    static string Sha256(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    static string GitSha1(byte[] b) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {b.Length}\0"), .. b]));

    HubSettings Settings(IProgress<DownloadProgress>? progress = null) => HubTestSettings.For(hub, tmp, progress);

    string RepoFolder => Path.Combine(Settings().HubCache, "models--org--tiny");

    [Fact]
    public void Fresh_Download_Writes_Huggingface_Hubs_Layout()
    {
        var s = Settings();
        var configPath = FileDownload.HfHubDownload(RepoId, "config.json", settings: s);
        var weightsPath = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s);

        // refs/main holds the commit, without a newline (Python's write_text).
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(RepoFolder, "refs", "main")));
        // Blobs are named by ETag: git sha1 for a plain file, sha256 for an LFS file.
        var configBlob = Path.Combine(RepoFolder, "blobs", GitSha1(Config));
        var weightsBlob = Path.Combine(RepoFolder, "blobs", Sha256(Weights));
        Assert.Equal(Config, File.ReadAllBytes(configBlob));
        Assert.Equal(Weights, File.ReadAllBytes(weightsBlob));
        // Snapshot entries are relative links into blobs/.
        Assert.Equal(Path.Combine(RepoFolder, "snapshots", repo.Commit, "config.json"), configPath);
        Assert.Equal(Path.Combine("..", "..", "blobs", GitSha1(Config)), new FileInfo(configPath).LinkTarget);
        Assert.Equal(Path.Combine("..", "..", "blobs", Sha256(Weights)), new FileInfo(weightsPath).LinkTarget);
        Assert.Equal(Weights, File.ReadAllBytes(weightsPath));
        // The lock files are where huggingface_hub puts them; no partial file is left.
        Assert.True(File.Exists(Path.Combine(s.HubCache, ".locks", "models--org--tiny", Sha256(Weights) + ".lock")));
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoFolder, "blobs"), "*.incomplete"));

        // HEAD then a 302 to the CDN for the LFS file; the CDN GET carries no token.
        Assert.Single(hub.RequestsTo("/resolve/main/weights.safetensors", "HEAD"));
        Assert.Single(hub.RequestsTo("/cdn/", "GET"));
    }

    [Fact]
    public void Cached_File_Is_Used_Without_The_Network()
    {
        var s = Settings();
        var first = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s);
        hub.Stop(); // connections are refused from now on
        string? second = null;
        var log = HubTestSettings.CaptureLog(() => second = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s));
        Assert.Equal(first, second);
        Assert.Contains("using the cached weights.safetensors", log);

        // A file never downloaded: a clear error naming it.
        var e = Assert.Throws<LocalEntryNotFoundException>(() => FileDownload.HfHubDownload(RepoId, "config.json", settings: s));
        Assert.Contains("config.json", e.Message);
        Assert.Contains("couldn't connect", e.Message);
        Assert.Equal("config.json", e.FileName);
    }

    [Fact]
    public void Online_Cache_Hit_Asks_Only_For_Metadata()
    {
        var s = Settings();
        FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s);
        FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s);
        Assert.Equal(2, hub.RequestsTo("/resolve/main/weights.safetensors", "HEAD").Count);
        Assert.Single(hub.RequestsTo("/cdn/", "GET"));
    }

    [Fact]
    public void Commit_Hash_Revision_Is_Served_From_The_Snapshot_Without_Any_Request()
    {
        var s = Settings();
        FileDownload.HfHubDownload(RepoId, "config.json", settings: s);
        int before = hub.Requests.Count;
        var path = FileDownload.HfHubDownload(RepoId, "config.json", revision: repo.Commit, settings: s);
        Assert.Equal(before, hub.Requests.Count);
        Assert.Equal(Config, File.ReadAllBytes(path));
    }

    [Fact]
    public void Offline_Mode_Uses_The_Cache_And_Names_A_Missing_File()
    {
        var s = Settings();
        var online = FileDownload.HfHubDownload(RepoId, "config.json", settings: s);
        int before = hub.Requests.Count;

        var offline = s with { Offline = true };
        Assert.Equal(online, FileDownload.HfHubDownload(RepoId, "config.json", settings: offline));
        var e = Assert.Throws<LocalEntryNotFoundException>(() => FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: offline));
        Assert.Contains("weights.safetensors", e.Message);
        Assert.Contains("HF_HUB_OFFLINE", e.Message);
        Assert.Contains(Path.Combine(RepoFolder, "snapshots", repo.Commit), e.Message);
        var never = Assert.Throws<LocalEntryNotFoundException>(() => FileDownload.HfHubDownload("org/other", "config.json", settings: offline));
        Assert.Contains("no main revision", never.Message);
        Assert.Equal(before, hub.Requests.Count); // offline: not a single request
    }

    [Fact]
    public void Connection_Dropped_Mid_File_Resumes_With_A_Range_Request()
    {
        hub.DropNext("/cdn/", afterBytes: 100_000);
        var progress = new RecordingProgress();
        string? path = null;
        var log = HubTestSettings.CaptureLog(() => path = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: Settings(progress)));

        Assert.Equal(Weights, File.ReadAllBytes(path!));
        var gets = hub.RequestsTo("/cdn/", "GET");
        Assert.Equal(2, gets.Count);
        Assert.Null(gets[0].Range);
        Assert.StartsWith("bytes=", gets[1].Range);
        long resumedAt = long.Parse(gets[1].Range!["bytes=".Length..^1]);
        Assert.InRange(resumedAt, 1, 100_000);
        Assert.Contains("Resuming from byte", log);
        // The resumed attempt reports where it started; the last report is complete.
        Assert.Contains(progress.Reports, r => r.ResumedFrom == resumedAt);
        Assert.True(progress.Reports[^1].IsComplete);
        Assert.Equal(Weights.Length, progress.Reports[^1].BytesDownloaded);
    }

    [Fact]
    public void Partial_File_From_An_Earlier_Run_Is_Resumed()
    {
        // A previous process died after 1000 bytes: blobs/{etag}.incomplete is there.
        var blobs = Path.Combine(RepoFolder, "blobs");
        Directory.CreateDirectory(blobs);
        File.WriteAllBytes(Path.Combine(blobs, Sha256(Weights) + ".incomplete"), Weights[..1000]);
        var path = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: Settings());
        Assert.Equal(Weights, File.ReadAllBytes(path));
        Assert.Equal("bytes=1000-", Assert.Single(hub.RequestsTo("/cdn/", "GET")).Range);
    }

    [Fact]
    public void Server_Error_Then_Success_Is_Retried_With_Backoff()
    {
        hub.FailNext("/resolve/main/weights.safetensors", 500, method: "HEAD");
        hub.FailNext("/cdn/", 503, times: 2);
        var waits = new List<int>();
        var s = Settings() with { Backoff = n => { waits.Add(n); return TimeSpan.Zero; } };
        string? path = null;
        var log = HubTestSettings.CaptureLog(() => path = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s));
        Assert.Equal(Weights, File.ReadAllBytes(path!));
        Assert.Equal([0, 0, 1], waits); // one retry of the HEAD, then two of the GET
        Assert.Contains("500", log);
        Assert.Contains("retrying", log);
    }

    [Fact]
    public void Redirects_From_The_CDN_Are_Followed()
    {
        hub.RedirectNext("/cdn/");
        var path = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: Settings() with { Token = "hf_x" });
        Assert.Equal(Weights, File.ReadAllBytes(path));
        var storage = Assert.Single(hub.RequestsTo("/storage/cdn/", "GET"));
        Assert.Null(storage.Authorization);
    }

    [Fact]
    public void Retries_Are_Bounded()
    {
        hub.FailNext("/cdn/", 502, times: 10);
        var s = Settings() with { MaxRetries = 2 };
        var e = Assert.Throws<HubException>(() => FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s));
        Assert.Contains("502", e.Message);
        Assert.Equal(3, hub.RequestsTo("/cdn/", "GET").Count);
        Assert.False(File.Exists(Path.Combine(RepoFolder, "blobs", Sha256(Weights))));
    }

    [Fact]
    public void Timeouts_Are_Retried()
    {
        hub.StallNext("/resolve/main/config.json", TimeSpan.FromSeconds(5), method: "HEAD");
        hub.StallNext("/cdn/", TimeSpan.FromSeconds(5));
        var s = Settings() with { EtagTimeout = TimeSpan.FromSeconds(1), DownloadTimeout = TimeSpan.FromSeconds(1) };
        Assert.Equal(Config, File.ReadAllBytes(FileDownload.HfHubDownload(RepoId, "config.json", settings: s)));
        Assert.Equal(Weights, File.ReadAllBytes(FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s)));
        Assert.Equal(2, hub.RequestsTo("/resolve/main/config.json", "HEAD").Count);
        Assert.Equal(2, hub.RequestsTo("/cdn/", "GET").Count);
    }

    [Fact]
    public void Wrong_Checksum_Fails_And_Leaves_Nothing_In_The_Cache()
    {
        hub.CorruptNext("/cdn/");
        var e = Assert.Throws<HubException>(() => FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: Settings()));
        Assert.Contains("sha256", e.Message);
        Assert.Contains(Sha256(Weights), e.Message);
        Assert.Contains("weights.safetensors", e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoFolder, "blobs")));
        Assert.False(Directory.Exists(Path.Combine(RepoFolder, "snapshots")));
        Assert.False(File.Exists(Path.Combine(RepoFolder, "refs", "main")));

        // The next attempt (the server is fine again) downloads it whole.
        var path = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: Settings());
        Assert.Equal(Weights, File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData("../evil.txt")]
    [InlineData("sub/../../evil.txt")]
    [InlineData("/etc/passwd")]
    [InlineData("..\\evil.txt")]
    [InlineData("C:evil.txt")]
    [InlineData("a//b")]
    public void Unsafe_File_Names_Are_Refused_Before_Any_Request(string name)
    {
        var e = Assert.Throws<HubException>(() => FileDownload.HfHubDownload(RepoId, name, settings: Settings()));
        Assert.Contains("refused file name", e.Message);
        Assert.Empty(hub.Requests);
        Assert.False(File.Exists(Path.Combine(tmp.Path, "evil.txt")));
        Assert.False(File.Exists(Path.Combine(tmp.Path, "hub", "evil.txt")));
    }

    [Fact]
    public void Hostile_Commit_Header_Is_Refused()
    {
        repo.CommitHeader = "../../../escaped";
        var e = Assert.Throws<HubException>(() => FileDownload.HfHubDownload(RepoId, "config.json", settings: Settings()));
        Assert.Contains("commit hash", e.Message);
        Assert.False(Directory.Exists(Path.Combine(tmp.Path, "escaped")));
        Assert.Empty(Directory.GetFileSystemEntries(tmp.Path, "escaped*", SearchOption.AllDirectories));
    }

    [Fact]
    public void Missing_File_Is_Remembered_In_No_Exist()
    {
        var s = Settings();
        var e = Assert.Throws<EntryNotFoundException>(() => FileDownload.HfHubDownload(RepoId, "tokenizer_config.json", settings: s));
        Assert.Contains("does not appear to have a file named tokenizer_config.json", e.Message);
        Assert.True(File.Exists(Path.Combine(RepoFolder, ".no_exist", repo.Commit, "tokenizer_config.json")));
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(RepoFolder, "refs", "main")));
        // Offline, the marker answers: not "not cached" but "does not exist".
        var offline = Assert.Throws<EntryNotFoundException>(() =>
            FileDownload.HfHubDownload(RepoId, "tokenizer_config.json", settings: s with { Offline = true }));
        Assert.IsNotType<LocalEntryNotFoundException>(offline);
    }

    [Fact]
    public void Unknown_Revision_And_Repository_Say_So()
    {
        var revision = Assert.Throws<RevisionNotFoundException>(() =>
            FileDownload.HfHubDownload(RepoId, "config.json", revision: "v9", settings: Settings()));
        Assert.Contains("v9 is not a valid git identifier", revision.Message);
        var missing = Assert.Throws<RepositoryNotFoundException>(() => FileDownload.HfHubDownload("org/nope", "config.json", settings: Settings()));
        Assert.Contains("org/nope", missing.Message);
        Assert.Contains("No token was sent", missing.Message);
    }

    [Fact]
    public void Private_Repository_Needs_The_Token_And_The_Token_Is_Never_Written()
    {
        const string token = "hf_SecretTokenValue123";
        hub.AddRepo("org/private", files: new Dictionary<string, byte[]> { ["config.json"] = Config, ["weights.safetensors"] = Weights })
           .RequiredToken = token;
        var progress = new StringWriter();
        var without = Settings(new ConsoleDownloadProgress(progress, interactive: false));
        var withToken = without with { Token = token };
        var wrongToken = without with { Token = "hf_wrong" };

        RepositoryNotFoundException? noToken = null, badToken = null;
        string? path = null;
        var log = HubTestSettings.CaptureLog(() =>
        {
            noToken = Assert.Throws<RepositoryNotFoundException>(() => FileDownload.HfHubDownload("org/private", "weights.safetensors", settings: without));
            badToken = Assert.Throws<RepositoryNotFoundException>(() => FileDownload.HfHubDownload("org/private", "config.json", settings: wrongToken));
            hub.DropNext("/cdn/", 1000); // a retry, so that the retry messages are in the log too
            path = FileDownload.HfHubDownload("org/private", "weights.safetensors", settings: withToken);
            FileDownload.HfHubDownload("org/private", "config.json", settings: withToken);
        });
        Assert.Equal(401, (int)noToken!.StatusCode!);
        Assert.Contains("No token was sent", noToken.Message);
        Assert.Contains("does not give access", badToken!.Message);
        Assert.Equal(Weights, File.ReadAllBytes(path!));

        // Sent as a bearer token to the Hub, never to the CDN.
        Assert.Equal([null, $"Bearer {token}", "Bearer hf_wrong"],
                     hub.RequestsTo("/org/private/resolve/").Select(r => r.Authorization).Distinct().Order(StringComparer.Ordinal));
        Assert.All(hub.RequestsTo("/cdn/"), r => Assert.Null(r.Authorization));

        // Nowhere in what we write: log lines, progress lines, exception texts, the settings' text form.
        Assert.NotEmpty(log);
        Assert.Contains("retry", log, StringComparison.OrdinalIgnoreCase);
        foreach (var text in new[] { log, progress.ToString(), noToken.ToString(), badToken.ToString(), withToken.ToString() })
            Assert.DoesNotContain(token, text);
        Assert.Contains("<set, hidden>", withToken.ToString());
    }

    [Fact]
    public void Two_Downloads_Of_The_Same_File_At_Once_Share_One_Blob()
    {
        hub.StallNext("/cdn/", TimeSpan.FromMilliseconds(300));
        var s = Settings();
        var paths = new string[4];
        Parallel.For(0, paths.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 },
                     i => paths[i] = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s));
        Assert.All(paths, p => Assert.Equal(paths[0], p));
        Assert.Equal(Weights, File.ReadAllBytes(paths[0]));
        Assert.Single(hub.RequestsTo("/cdn/", "GET"));
        Assert.Equal([Sha256(Weights)], Directory.GetFiles(Path.Combine(RepoFolder, "blobs")).Select(Path.GetFileName));
    }

    [Fact]
    public void Renamed_Repository_Is_Followed_And_Cached_Under_The_Name_Asked_For()
    {
        hub.AddAlias("tiny", RepoId);
        var path = FileDownload.HfHubDownload("tiny", "weights.safetensors", settings: Settings());
        Assert.Equal(Weights, File.ReadAllBytes(path));
        Assert.StartsWith(Path.Combine(Settings().HubCache, "models--tiny", "snapshots"), path);
        Assert.False(Directory.Exists(RepoFolder));
        Assert.Equal(["/tiny/resolve/main/weights.safetensors", "/org/tiny/resolve/main/weights.safetensors", "/cdn/" + Sha256(Weights)],
                     hub.Requests.Select(r => r.Path));
    }

    [Fact]
    public void New_Commit_On_Main_Gets_A_New_Snapshot_And_Reuses_Unchanged_Blobs()
    {
        var s = Settings();
        var first = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s);
        var oldCommit = repo.Commit;
        repo.Commit = StandInHub.CommitFor(RepoId, version: 2);
        var second = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: s);
        Assert.NotEqual(first, second);
        Assert.Contains(repo.Commit, second);
        Assert.Equal(repo.Commit, File.ReadAllText(Path.Combine(RepoFolder, "refs", "main")));
        Assert.Single(hub.RequestsTo("/cdn/", "GET")); // same content, same blob: linked, not downloaded again
        Assert.True(File.Exists(Path.Combine(RepoFolder, "snapshots", oldCommit, "weights.safetensors")));
    }

    [Theory]
    [InlineData(400_000L)]
    [InlineData(1_000_000_000_000_000L)]
    public void A_Hub_Claiming_A_Larger_Size_Than_The_Cdn_Serves_Fails_After_Bounded_Tries(long claimed)
    {
        // X-Linked-Size says more than the CDN has; the resume past its end is answered 416 (as S3 and CloudFront do).
        // This used to download the whole file again and again, forever (each full download counted as progress).
        repo.ClaimedSizes["weights.safetensors"] = claimed;
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var task = FileDownload.HfHubDownloadAsync(RepoId, "weights.safetensors", settings: Settings(), cancellationToken: patience.Token);
        var e = Assert.Throws<HubException>(() => task.GetAwaiter().GetResult());
        Assert.Contains($"should be of size {claimed} (the Hub's X-Linked-Size) but the server's file has size {Weights.Length}", e.Message);
        Assert.InRange(hub.RequestsTo("/cdn/", "GET").Count, 1, 2); // one full download, one resume refused
        Assert.Empty(Directory.GetFiles(Path.Combine(RepoFolder, "blobs")));
    }

    [Fact]
    public void A_Server_That_Trickles_Bytes_Is_Given_Up_By_The_Stall_Limit()
    {
        // 100 bytes every 20 ms: every read gets something (DownloadTimeout never trips), but far below 64 KiB per second.
        hub.TrickleNext("/cdn/", 100, TimeSpan.FromMilliseconds(20));
        var s = Settings() with { DownloadStallTimeout = TimeSpan.FromSeconds(1) };
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var task = FileDownload.HfHubDownloadAsync(RepoId, "weights.safetensors", settings: s, cancellationToken: patience.Token);
        var e = Assert.Throws<HubException>(() => task.GetAwaiter().GetResult());
        Assert.Contains("stalled: the server sent only", e.Message);
        Assert.Contains("reachable but too slow", e.Message);
        Assert.Single(hub.RequestsTo("/cdn/", "GET"));
        // What arrived is kept for the next attempt, which resumes it.
        var partial = Assert.Single(Directory.GetFiles(Path.Combine(RepoFolder, "blobs"), "*.incomplete"));
        Assert.InRange(new FileInfo(partial).Length, 1, Weights.Length - 1);
        var path = FileDownload.HfHubDownload(RepoId, "weights.safetensors", settings: Settings());
        Assert.Equal(Weights, File.ReadAllBytes(path));
        Assert.NotNull(hub.RequestsTo("/cdn/", "GET")[1].Range);
    }

    [Fact]
    public void Credentials_In_The_Endpoint_Are_Never_Shown()
    {
        var s = Settings() with { Endpoint = $"http://user:s3cret-pw@127.0.0.1:{hub.Port}" };
        var shown = new List<string> { s.ToString(), s.DisplayEndpoint };
        // An error answer (the message names the endpoint), then no server at all (the message names the host).
        hub.FailNext("/resolve/", 500, times: 100);
        shown.Add(HubTestSettings.CaptureLog(() => shown.Add(Assert.ThrowsAny<HubException>(() => FileDownload.HfHubDownload(RepoId, "config.json", settings: s)).Message)));
        hub.Stop();
        shown.Add(HubTestSettings.CaptureLog(() => shown.Add(Assert.ThrowsAny<HubException>(() => FileDownload.HfHubDownload(RepoId, "config.json", settings: s)).Message)));
        shown.Add(Assert.Throws<ArgumentException>(() => HubSettings.FromEnvironment(n => n == "HF_ENDPOINT" ? "ftp://user:s3cret-pw@host" : null)).Message);
        foreach (var text in shown) Assert.DoesNotContain("s3cret-pw", text);
        Assert.Contains($"http://***@127.0.0.1:{hub.Port}", shown[2]);
        Assert.Contains("ftp://***@host", shown[^1]);
    }

    [Fact]
    public void A_Token_With_A_Non_Ascii_Character_Says_So_Not_That_There_Is_No_Connection()
    {
        var e = Assert.ThrowsAny<HubException>(() => FileDownload.HfHubDownload(RepoId, "config.json", settings: Settings() with { Token = "hf_abc\u00e9def" }));
        Assert.Contains("not printable ASCII at position 7 of 10", e.Message);
        Assert.DoesNotContain("connect", e.Message);
        Assert.DoesNotContain("abc", e.Message);
        Assert.Empty(hub.Requests);
    }

    [Fact]
    public void A_Server_That_Answers_Too_Slowly_Is_Called_Slow_Not_Unreachable()
    {
        hub.StallNext("/resolve/", TimeSpan.FromSeconds(3), times: 100, method: "HEAD");
        var s = Settings() with { EtagTimeout = TimeSpan.FromMilliseconds(300), MaxRetries = 1 };
        var e = Assert.Throws<LocalEntryNotFoundException>(() => FileDownload.HfHubDownload(RepoId, "config.json", settings: s));
        Assert.Contains("did not answer the request for config.json of model org/tiny (revision main) within 0.3 s (HF_HUB_ETAG_TIMEOUT)", e.Message);
        Assert.DoesNotContain("internet connection", e.Message);
    }
}
