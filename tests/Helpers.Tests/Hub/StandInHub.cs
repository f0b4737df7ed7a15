using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using FineTuning.Hub;

namespace FineTuning.Tests.Hub;

/// <summary>
/// A stand-in for huggingface.co on 127.0.0.1 (HttpListener), answering as the Hub does:
/// <list type="bullet">
/// <item><c>HEAD|GET /{repo}/resolve/{revision}/{file}</c> and <c>/datasets/{repo}/resolve/…</c>: for a small (git)
/// file 200 with <c>ETag: "{git blob sha1}"</c>, <c>X-Repo-Commit</c>, Content-Length; for an LFS file (.safetensors,
/// .parquet, .bin or over 1 MB) a 302 to <c>/cdn/{sha256}</c> with <c>X-Linked-Etag: "{sha256}"</c> and
/// <c>X-Linked-Size</c>; a legacy alias answers 307 with a relative Location; a missing repository or a private one
/// without its token 401 <c>X-Error-Code: RepoNotFound</c>; a missing revision 404 <c>RevisionNotFound</c>; a missing
/// file 404 <c>EntryNotFound</c> with <c>X-Repo-Commit</c>.</item>
/// <item><c>GET /cdn/{sha256}</c>: the content, honouring <c>Range: bytes=N-</c> (206).</item>
/// </list>
/// Faults are queued per path fragment (an error status, a stall, a hold until a condition, a slow body, a connection
/// dropped after N bytes, a corrupted byte); every request is recorded. A repository can be private (a token),
/// gated (403 GatedRepo) or answer without X-Repo-Commit (not a Hub). <see cref="Stop"/> makes the address refuse connections (no network).
/// </summary>
internal sealed class StandInHub : IDisposable
{
    const long LfsThreshold = 1 << 20;

    readonly HttpListener listener = new();
    readonly ConcurrentDictionary<(RepoType, string), Repo> repos = new();
    readonly ConcurrentDictionary<(RepoType, string), string> aliases = new();
    readonly ConcurrentDictionary<string, HubFile> cdn = new();
    readonly List<Fault> faults = [];
    readonly Task loop;

    public StandInHub()
    {
        for (int attempt = 0; ; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            listener.Prefixes.Clear();
            listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            try
            {
                listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }
        loop = Task.Run(AcceptLoop);
    }

    public int Port { get; }

    /// <summary>The value for HF_ENDPOINT / <see cref="HubSettings.Endpoint"/>.</summary>
    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>Every request answered, in order of arrival.</summary>
    public ConcurrentQueue<Served> Requests { get; } = new();

    public sealed record Served(string Method, string Path, string? Authorization, string? Range);

    public sealed record HubFile(string Name, long Size, string Sha256, string GitSha1, bool Lfs, Func<Stream> Open);

    public sealed class Repo(string id, RepoType type, string commit)
    {
        public string Id { get; } = id;
        public RepoType Type { get; } = type;
        public string Commit { get; set; } = commit;
        /// <summary>What X-Repo-Commit says (default: <see cref="Commit"/>): lets a test send a hostile value.</summary>
        public string? CommitHeader { get; set; }
        public Dictionary<string, HubFile> Files { get; } = new(StringComparer.Ordinal);
        /// <summary>A private repository: answers 401 unless this bearer token is sent.</summary>
        public string? RequiredToken { get; set; }
        /// <summary>A gated repository the caller's account has not been granted: 403 <c>X-Error-Code: GatedRepo</c>.</summary>
        public bool Gated { get; set; }
        /// <summary>X-Linked-Size values that differ from the file's real size, by file name (a Hub whose metadata and
        /// storage disagree).</summary>
        public ConcurrentDictionary<string, long> ClaimedSizes { get; } = new(StringComparer.Ordinal);
        /// <summary>False: answers without X-Repo-Commit, as a plain web server (not a Hub) would.</summary>
        public bool SendsCommitHeader { get; set; } = true;
    }

    sealed class Fault(string pathFragment, string? method, int times)
    {
        public string PathFragment { get; } = pathFragment;
        public string? Method { get; } = method;
        public int Remaining { get; set; } = times;
        public int? Status { get; init; }
        public TimeSpan? Stall { get; init; }
        public long? DropAfter { get; init; }
        public bool Corrupt { get; init; }
        public bool Redirect { get; init; }
        public TimeSpan? ChunkDelay { get; init; }
        public Func<bool>? HoldUntil { get; init; }
        public (int Bytes, TimeSpan Pause)? Trickle { get; init; }
        public (long AfterBytes, Func<bool> Until)? HoldBody { get; init; }
    }

    /// <summary>A deterministic fake commit hash for a repository.</summary>
    public static string CommitFor(string id, int version = 1) =>
        Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes($"{id}@{version}")));

    /// <summary>Adds (or replaces) a repository with the files of a folder (top level) and/or in-memory files.</summary>
    public Repo AddRepo(string id, RepoType type = RepoType.Model, string? folder = null, IReadOnlyDictionary<string, byte[]>? files = null,
                        string? commit = null)
    {
        var repo = new Repo(id, type, commit ?? CommitFor(id));
        if (folder is not null)
            foreach (var path in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
                AddFile(repo, Path.GetFileName(path), () => File.OpenRead(path));
        if (files is not null)
            foreach (var (name, bytes) in files)
                AddFile(repo, name, () => new MemoryStream(bytes, writable: false));
        repos[(type, id)] = repo;
        return repo;
    }

    /// <summary>Adds a file to a repository (its hashes computed now).</summary>
    public HubFile AddFile(Repo repo, string name, Func<Stream> open)
    {
        long size;
        string sha256, gitSha1;
        using (var s = open())
        {
            size = s.Length;
            sha256 = Convert.ToHexStringLower(SHA256.HashData(s));
            s.Position = 0;
            using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
            sha1.AppendData(Encoding.ASCII.GetBytes($"blob {size}\0"));
            var buffer = new byte[1 << 16];
            int n;
            while ((n = s.Read(buffer)) > 0) sha1.AppendData(buffer, 0, n);
            gitSha1 = Convert.ToHexStringLower(sha1.GetHashAndReset());
        }
        bool lfs = size > LfsThreshold || name.EndsWith(".safetensors", StringComparison.Ordinal)
                   || name.EndsWith(".parquet", StringComparison.Ordinal) || name.EndsWith(".bin", StringComparison.Ordinal);
        var file = new HubFile(name, size, sha256, gitSha1, lfs, open);
        repo.Files[name] = file;
        if (lfs) cdn[sha256] = file;
        return file;
    }

    /// <summary>A legacy id the Hub redirects (307, relative Location) to the canonical repository.</summary>
    public void AddAlias(string legacyId, string canonicalId, RepoType type = RepoType.Model) => aliases[(type, legacyId)] = canonicalId;

    /// <summary>The next <paramref name="times"/> requests whose path contains the fragment get this status.</summary>
    public void FailNext(string pathFragment, int status, int times = 1, string? method = null) =>
        AddFault(new Fault(pathFragment, method, times) { Status = status });

    /// <summary>The next matching requests wait this long before answering (the client should time out first).</summary>
    public void StallNext(string pathFragment, TimeSpan stall, int times = 1, string? method = null) =>
        AddFault(new Fault(pathFragment, method, times) { Stall = stall });

    /// <summary>The next matching GET sends this many body bytes, then the connection is cut.</summary>
    public void DropNext(string pathFragment, long afterBytes, int times = 1) =>
        AddFault(new Fault(pathFragment, "GET", times) { DropAfter = afterBytes });

    /// <summary>The next matching GETs answer 302 to <c>/storage/{the same path}</c>, which serves the same content
    /// (a CDN handing over to its storage).</summary>
    public void RedirectNext(string pathFragment, int times = 1) =>
        AddFault(new Fault(pathFragment, "GET", times) { Redirect = true });

    /// <summary>The next matching GETs send the content slowly: 64 KB, then this pause, and so on.</summary>
    public void ThrottleNext(string pathFragment, TimeSpan pausePer64KB, int times = 1) =>
        AddFault(new Fault(pathFragment, "GET", times) { ChunkDelay = pausePer64KB });

    /// <summary>The next matching GETs send the content a few bytes at a time (<paramref name="bytes"/>, then
    /// <paramref name="pause"/>, and so on) without ever closing early: a reachable server too slow to be useful.</summary>
    public void TrickleNext(string pathFragment, int bytes, TimeSpan pause, int times = 1) =>
        AddFault(new Fault(pathFragment, "GET", times) { Trickle = (bytes, pause) });

    /// <summary>The next matching GET sends <paramref name="afterBytes"/> bytes of the body, then waits until
    /// <paramref name="until"/> is true (checked every 10 ms, for at most 5 minutes) before sending the rest: a download
    /// caught for certain half-way, whatever the machine's load.</summary>
    public void HoldBodyNext(string pathFragment, long afterBytes, Func<bool> until) =>
        AddFault(new Fault(pathFragment, "GET", 1) { HoldBody = (afterBytes, until) });

    /// <summary>The next matching requests are answered only once <paramref name="until"/> is true (checked every 10 ms,
    /// for at most 60 s): lets a test line up what two clients do.</summary>
    public void HoldNext(string pathFragment, Func<bool> until, int times = 1, string? method = null) =>
        AddFault(new Fault(pathFragment, method, times) { HoldUntil = until });

    /// <summary>The next matching GETs serve the content with its first byte flipped (same size, wrong sha256).</summary>
    public void CorruptNext(string pathFragment, int times = 1) =>
        AddFault(new Fault(pathFragment, "GET", times) { Corrupt = true });

    void AddFault(Fault fault)
    {
        lock (faults) faults.Add(fault);
    }

    List<Fault> TakeFaults(string method, string path)
    {
        lock (faults)
        {
            var matching = faults.Where(f => f.Remaining > 0 && path.Contains(f.PathFragment, StringComparison.Ordinal)
                                             && (f.Method is null || f.Method == method)).ToList();
            foreach (var f in matching) f.Remaining--;
            return matching;
        }
    }

    /// <summary>Requests whose path contains the fragment (and, if given, with that method).</summary>
    public List<Served> RequestsTo(string fragment, string? method = null) =>
        Requests.Where(r => r.Path.Contains(fragment, StringComparison.Ordinal) && (method is null || r.Method == method)).ToList();

    /// <summary>Stops listening: connections to <see cref="Endpoint"/> are refused from now on.</summary>
    public void Stop()
    {
        if (listener.IsListening) listener.Stop();
    }

    public void Dispose()
    {
        Stop();
        listener.Close();
        try { loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }

    async Task AcceptLoop()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(async () =>
            {
                try
                {
                    await Handle(context).ConfigureAwait(false);
                }
                catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
                {
                    // The client went away (a timeout test): nothing to answer.
                }
            });
        }
    }

    async Task Handle(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var rawPath = request.RawUrl!.Split('?')[0];
        var path = Uri.UnescapeDataString(rawPath);
        Requests.Enqueue(new Served(request.HttpMethod, path, request.Headers["Authorization"], request.Headers["Range"]));

        var applied = TakeFaults(request.HttpMethod, path);
        foreach (var stall in applied.Where(f => f.Stall is not null)) await Task.Delay(stall.Stall!.Value).ConfigureAwait(false);
        foreach (var hold in applied.Where(f => f.HoldUntil is not null))
            for (var deadline = DateTime.UtcNow.AddSeconds(60); !hold.HoldUntil!() && DateTime.UtcNow < deadline;)
                await Task.Delay(10).ConfigureAwait(false);
        if (applied.FirstOrDefault(f => f.Status is not null) is { } failure)
        {
            response.StatusCode = failure.Status!.Value;
            response.ContentLength64 = 0;
            response.Close();
            return;
        }
        if (applied.Any(f => f.Redirect))
        {
            response.StatusCode = 302;
            response.Headers["Location"] = $"{Endpoint}/storage{rawPath}";
            response.ContentLength64 = 0;
            response.Close();
            return;
        }
        if (rawPath.StartsWith("/storage/", StringComparison.Ordinal)) rawPath = rawPath["/storage".Length..];
        var drop = applied.FirstOrDefault(f => f.DropAfter is not null)?.DropAfter;
        var chunkDelay = applied.FirstOrDefault(f => f.ChunkDelay is not null)?.ChunkDelay;
        bool corrupt = applied.Any(f => f.Corrupt);
        var trickle = applied.FirstOrDefault(f => f.Trickle is not null)?.Trickle;
        if (trickle is { } t) chunkDelay = t.Pause;
        var holdBody = applied.FirstOrDefault(f => f.HoldBody is not null)?.HoldBody;

        if (rawPath.StartsWith("/cdn/", StringComparison.Ordinal))
        {
            if (!cdn.TryGetValue(rawPath["/cdn/".Length..], out var blob)) { Empty(response, 404); return; }
            await ServeContent(context, blob, drop, corrupt, chunkDelay, trickle?.Bytes, holdBody).ConfigureAwait(false);
            return;
        }

        int resolve = rawPath.IndexOf("/resolve/", StringComparison.Ordinal);
        if (resolve < 0) { Empty(response, 404); return; }
        var repoPath = rawPath[1..resolve];
        var rest = rawPath[(resolve + "/resolve/".Length)..];
        var type = repoPath.StartsWith("datasets/", StringComparison.Ordinal) ? RepoType.Dataset : RepoType.Model;
        var id = Uri.UnescapeDataString(type == RepoType.Dataset ? repoPath["datasets/".Length..] : repoPath);
        if (aliases.TryGetValue((type, id), out var canonical))
        {
            response.StatusCode = 307;
            response.Headers["Location"] = $"/{(type == RepoType.Dataset ? "datasets/" : "")}{canonical}/resolve/{rest}";
            response.ContentLength64 = 0;
            response.Close();
            return;
        }
        int slash = rest.IndexOf('/');
        var revision = Uri.UnescapeDataString(rest[..slash]);
        var fileName = string.Join('/', rest[(slash + 1)..].Split('/').Select(Uri.UnescapeDataString));

        if (!repos.TryGetValue((type, id), out var repo))
        {
            Error(response, 401, "RepoNotFound", "Repository not found");
            return;
        }
        if (repo.RequiredToken is { } token && request.Headers["Authorization"] != $"Bearer {token}")
        {
            Error(response, 401, "RepoNotFound", request.Headers["Authorization"] is null ? "Repository not found" : "Invalid credentials in Authorization header");
            return;
        }
        if (repo.Gated)
        {
            Error(response, 403, "GatedRepo", $"Access to model {id} is restricted and you are not in the authorized list. Visit {Endpoint}/{id} to ask for access.");
            return;
        }
        if (revision != "main" && revision != repo.Commit)
        {
            Error(response, 404, "RevisionNotFound", $"Invalid rev id: {revision}");
            return;
        }
        var commitHeader = repo.SendsCommitHeader ? repo.CommitHeader ?? repo.Commit : null;
        if (!repo.Files.TryGetValue(fileName, out var file))
        {
            if (commitHeader is not null) response.Headers["X-Repo-Commit"] = commitHeader;
            Error(response, 404, "EntryNotFound", "Entry not found");
            return;
        }
        if (commitHeader is not null) response.Headers["X-Repo-Commit"] = commitHeader;
        if (file.Lfs)
        {
            response.StatusCode = 302;
            response.Headers["Location"] = $"{Endpoint}/cdn/{file.Sha256}";
            response.Headers["X-Linked-Etag"] = $"\"{file.Sha256}\"";
            response.Headers["X-Linked-Size"] = (repo.ClaimedSizes.TryGetValue(fileName, out var claimed) ? claimed : file.Size)
                .ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["ETag"] = $"\"{file.GitSha1}\"";
            response.ContentLength64 = 0;
            response.Close();
            return;
        }
        response.Headers["ETag"] = $"\"{file.GitSha1}\"";
        await ServeContent(context, file, drop, corrupt, chunkDelay, trickle?.Bytes, holdBody).ConfigureAwait(false);
    }

    static async Task ServeContent(HttpListenerContext context, HubFile file, long? dropAfter, bool corrupt, TimeSpan? chunkDelay = null,
                                   int? chunkBytes = null, (long AfterBytes, Func<bool> Until)? holdBody = null)
    {
        var request = context.Request;
        var response = context.Response;
        long start = 0;
        if (request.Headers["Range"] is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-'))
        {
            start = long.Parse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture);
            if (start >= file.Size)
            {
                response.Headers["Content-Range"] = $"bytes */{file.Size}";
                Empty(response, 416);
                return;
            }
            response.StatusCode = 206;
            response.Headers["Content-Range"] = $"bytes {start}-{file.Size - 1}/{file.Size}";
        }
        response.ContentLength64 = file.Size - start;
        if (request.HttpMethod == "HEAD")
        {
            response.Close();
            return;
        }
        using var source = file.Open();
        source.Seek(start, SeekOrigin.Begin);
        var buffer = new byte[chunkBytes ?? 1 << 16];
        long sent = 0;
        int n;
        while ((n = source.Read(buffer)) > 0)
        {
            if (corrupt && start + sent == 0) buffer[0] ^= 0xFF;
            if (dropAfter is { } cut && sent + n >= cut)
            {
                await response.OutputStream.WriteAsync(buffer.AsMemory(0, (int)(cut - sent))).ConfigureAwait(false);
                await response.OutputStream.FlushAsync().ConfigureAwait(false);
                await Task.Delay(100).ConfigureAwait(false); // let the bytes reach the client before the cut
                response.Abort();
                return;
            }
            await response.OutputStream.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
            sent += n;
            if (holdBody is { } hold && sent >= hold.AfterBytes)
            {
                await response.OutputStream.FlushAsync().ConfigureAwait(false);
                for (var deadline = DateTime.UtcNow.AddMinutes(5); !hold.Until() && DateTime.UtcNow < deadline;)
                    await Task.Delay(10).ConfigureAwait(false);
                holdBody = null;
            }
            if (chunkDelay is { } pause)
            {
                await response.OutputStream.FlushAsync().ConfigureAwait(false);
                await Task.Delay(pause).ConfigureAwait(false);
            }
        }
        response.Close();
    }

    static void Empty(HttpListenerResponse response, int status)
    {
        response.StatusCode = status;
        response.ContentLength64 = 0;
        response.Close();
    }

    static void Error(HttpListenerResponse response, int status, string code, string message)
    {
        response.StatusCode = status;
        response.Headers["X-Error-Code"] = code;
        response.Headers["X-Error-Message"] = message;
        response.ContentLength64 = 0;
        response.Close();
    }
}
