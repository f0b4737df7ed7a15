namespace FineTuning.Hub;

/// <summary>
/// huggingface_hub's <c>file_download</c>: <see cref="HfHubDownload"/> returns the local path of one file of a Hub
/// repository, downloading it into the shared cache (<see cref="HubCache"/>'s layout) only when the cache does not
/// already hold it for the revision's current commit.
/// </summary>
public static class FileDownload
{
    /// <summary>
    /// Python's <c>hf_hub_download(repo_id, filename, repo_type=..., revision=...)</c>: the path of the file in
    /// <c>{cache}/models--org--name/snapshots/{commit}/</c> (a link into <c>blobs/</c>).
    /// </summary>
    /// <remarks>
    /// <para>Online, a HEAD request asks which commit the revision is at and the file's ETag and size (following a
    /// renamed repository's relative redirect, not the CDN's); the file is downloaded only when that blob is not
    /// cached — to <c>blobs/{etag}.incomplete</c>, resumed with a Range request after a dropped connection, checked
    /// (size; sha256 for LFS files), renamed, then linked from the snapshot — under a <c>.locks</c> file lock shared
    /// with other processes. When the Hub cannot be reached, the cached file of the revision's last known commit is
    /// used. With <see cref="HubSettings.Offline"/> only the cache is used. A 40-hex-digit revision is a commit: a file
    /// cached for it is returned without any request.</para>
    /// <para>A 404 for the file is remembered in <c>.no_exist/{commit}/</c>, as huggingface_hub does.</para>
    /// </remarks>
    /// <param name="repoId">e.g. <c>google-bert/bert-base-uncased</c>, or a legacy name such as <c>bert-base-uncased</c>.</param>
    /// <param name="filename">the file's path in the repository, '/'-separated, e.g. <c>config.json</c>.</param>
    /// <param name="repoType">model (default) or dataset.</param>
    /// <param name="revision">a branch, tag or commit hash; default "main".</param>
    /// <param name="settings">endpoint, cache, token, offline mode; default <see cref="HubSettings.Default"/> or the environment.</param>
    /// <exception cref="RepositoryNotFoundException">No such repository, or no access to it.</exception>
    /// <exception cref="RevisionNotFoundException">No such revision.</exception>
    /// <exception cref="EntryNotFoundException">No such file at that revision.</exception>
    /// <exception cref="LocalEntryNotFoundException">Not cached, and offline or the Hub unreachable.</exception>
    /// <exception cref="HubException">Any other failure, e.g. a download that failed its size or sha256 check.</exception>
    public static string HfHubDownload(string repoId, string filename, RepoType repoType = RepoType.Model, string? revision = null,
                                       HubSettings? settings = null)
        => RunSync(() => HfHubDownloadAsync(repoId, filename, repoType, revision, settings));

    /// <summary>The asynchronous <see cref="HfHubDownload"/>; cancelling keeps a partial download for a later resume.</summary>
    public static async Task<string> HfHubDownloadAsync(string repoId, string filename, RepoType repoType = RepoType.Model,
                                                        string? revision = null, HubSettings? settings = null,
                                                        CancellationToken cancellationToken = default)
    {
        var result = await DownloadAsync(new HubRepo(repoId, repoType), filename, revision ?? "main", HubSettings.Resolve(settings),
                                         cancellationToken).ConfigureAwait(false);
        return result.Path;
    }

    /// <summary>Runs asynchronous work to completion from synchronous code, off any synchronization context (a
    /// notebook kernel's), so waiting on it cannot deadlock.</summary>
    internal static T RunSync<T>(Func<Task<T>> work) => Task.Run(work).GetAwaiter().GetResult();

    /// <summary>The download itself; also returns the commit the file was found at.</summary>
    internal static async Task<(string Path, string Commit)> DownloadAsync(HubRepo repo, string filename, string revision,
                                                                          HubSettings settings, CancellationToken cancellationToken)
    {
        var file = RepoPath.Segments(filename, "file name");
        RepoPath.Segments(revision, "revision");
        var cache = new HubCache(settings.HubCache);

        // A commit hash names immutable content: a cached file needs no request.
        if (RepoPath.IsCommitHash(revision) && cache.PointerPath(repo, revision, file) is var pinned && HubCache.IsUsableFile(pinned))
            return (pinned, revision);

        if (settings.Offline)
            return FromCache(cache, repo, file, filename, revision, settings, networkError: null);

        var http = new HubHttp(settings);
        HubFileMetadata metadata;
        try
        {
            try
            {
                metadata = await http.GetMetadataAsync(repo, filename, revision, retryNetworkErrors: false, cancellationToken).ConfigureAwait(false);
            }
            catch (HubUnreachableException) when (cache.Lookup(repo, file, revision) is { Path: not null })
            {
                throw; // handled below: the cached file is used, as huggingface_hub does without a connection
            }
            catch (HubUnreachableException e) when (e.InnerException is TimeoutException or HttpRequestException { HttpRequestError: not
                (HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError) })
            {
                // Not cached, and the Hub answered too slowly or broke the connection: try again, with backoff.
                metadata = await http.GetMetadataAsync(repo, filename, revision, retryNetworkErrors: true, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (EntryNotFoundException e) when (e.ServerCommit is { } serverCommit && RepoPath.Problem(serverCommit) is null)
        {
            var commit = RepoPath.Token(serverCommit, "commit hash (X-Repo-Commit)");
            cache.MarkMissing(repo, commit, file);
            cache.WriteRef(repo, revision, commit);
            throw;
        }
        catch (HubUnreachableException e)
        {
            return FromCache(cache, repo, file, filename, revision, settings, e);
        }

        var commitHash = RepoPath.Token(metadata.CommitHash ?? throw new HubException(
            $"{filename} of {repo}: the answer from {settings.DisplayEndpoint} has no X-Repo-Commit header; is it a Hugging Face Hub (HF_ENDPOINT)?",
            repo.Id, filename, revision), "commit hash (X-Repo-Commit)");
        var etag = RepoPath.Token(metadata.Etag ?? throw new HubException(
            $"{filename} of {repo}: the answer from {settings.DisplayEndpoint} has no ETag, so the file cannot be cached reliably.",
            repo.Id, filename, revision), "ETag");

        var blob = cache.BlobPath(repo, etag);
        var pointer = cache.PointerPath(repo, commitHash, file);
        if (!HubCache.IsUsableFile(pointer))
        {
            if (File.Exists(blob))
                HubCache.Link(blob, pointer, newBlob: false); // the same content is cached for another commit or name
            else
            {
                using var fileLock = await FileLock.AcquireAsync(cache.LockPath(repo, etag), settings.LockTimeout, $"{filename} of {repo}",
                                                                 cancellationToken).ConfigureAwait(false);
                // Another process may have finished it while we waited.
                if (!HubCache.IsUsableFile(pointer))
                {
                    bool downloaded = false;
                    if (!File.Exists(blob))
                    {
                        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
                        Logging.Info($"downloading {HubSettings.Redact(metadata.Location.GetLeftPart(UriPartial.Path))} to {blob}");
                        await BlobDownload.RunAsync(http, metadata.Location, !metadata.Redirected, blob, metadata.Size, metadata.IsLfs ? etag : null,
                                                    repo, filename, revision, cancellationToken).ConfigureAwait(false);
                        downloaded = true;
                    }
                    HubCache.Link(blob, pointer, newBlob: downloaded);
                }
            }
        }
        cache.WriteRef(repo, revision, commitHash);
        return (pointer, commitHash);
    }

    /// <summary>The cached file for the revision, or the error huggingface_hub raises when there is none.</summary>
    static (string Path, string Commit) FromCache(HubCache cache, HubRepo repo, string[] file, string filename, string revision,
                                                 HubSettings settings, HubUnreachableException? networkError)
    {
        var hit = cache.Lookup(repo, file, revision);
        if (hit.Path is not null)
        {
            if (networkError is not null)
                Logging.Info($"{networkError.Message}; using the cached {filename} of {repo} (commit {hit.Commit})");
            return (hit.Path, hit.Commit!);
        }
        if (hit.KnownMissing)
            throw new EntryNotFoundException(
                $"{repo.Id} does not appear to have a file named {filename} (revision {revision}, commit {hit.Commit}; known from the cache " +
                $"{cache.RepoFolder(repo)}).", repo.Id, filename, revision, null) { ServerCommit = hit.Commit };
        var where = hit.Commit is null
            ? $"the cache {cache.Root} has no {revision} revision of it"
            : $"it is not in the cache {cache.SnapshotFolder(repo, hit.Commit)}";
        throw networkError is null
            ? new LocalEntryNotFoundException(
                $"Cannot find {filename} of {repo} (revision {revision}): {where}, and offline mode is on (HF_HUB_OFFLINE=1 or " +
                "HubSettings.Offline), so it may not be downloaded. Download it once online, or pass the path of a local folder that has it.",
                repo.Id, filename, revision)
            : new LocalEntryNotFoundException(networkError.InnerException switch
            {
                // Reached, or at least not refused, but no answer in time: a slow server, not a missing connection.
                TimeoutException =>
                    $"'{settings.DisplayEndpoint}' did not answer the request for {filename} of {repo} (revision {revision}) within " +
                    $"{settings.EtagTimeout.TotalSeconds:0.###} s (HF_HUB_ETAG_TIMEOUT), also after {settings.MaxRetries} retries, and {where}. " +
                    "The server (or a proxy) is slow or overloaded: try again later, or give it more time, e.g. HF_HUB_ETAG_TIMEOUT=60.",
                HttpRequestException { HttpRequestError: not (HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError
                    or HttpRequestError.SecureConnectionError or HttpRequestError.ProxyTunnelError or HttpRequestError.Unknown) } http =>
                    $"'{settings.DisplayEndpoint}' broke off the request for {filename} of {repo} (revision {revision}): {http.Message}, " +
                    $"and {where}. Try again; if it persists, a proxy or the server is failing.",
                _ =>
                    $"We couldn't connect to '{settings.DisplayEndpoint}' to load {filename} of {repo} (revision {revision}), and {where}. " +
                    "Check your internet connection, or see how to run offline (HF_HUB_OFFLINE=1) in the README.",
            }, repo.Id, filename, revision, networkError);
    }

    /// <summary>
    /// Whether the repository has the file at the revision, without downloading it: a HEAD request (a 404 is
    /// remembered in <c>.no_exist</c>), or the cache when offline or unreachable.
    /// </summary>
    internal static async Task<bool> ExistsAsync(HubRepo repo, string filename, string revision, HubSettings settings,
                                                 CancellationToken cancellationToken)
    {
        var file = RepoPath.Segments(filename, "file name");
        var cache = new HubCache(settings.HubCache);
        var cached = cache.Lookup(repo, file, revision);
        if (cached.Path is not null) return true;
        if (cached.KnownMissing || settings.Offline) return false;
        try
        {
            await new HubHttp(settings).GetMetadataAsync(repo, filename, revision, retryNetworkErrors: false, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (EntryNotFoundException e)
        {
            if (e.ServerCommit is { } commit && RepoPath.Problem(commit) is null)
                cache.MarkMissing(repo, RepoPath.Token(commit, "commit hash (X-Repo-Commit)"), file);
            return false;
        }
        catch (HubUnreachableException)
        {
            return false;
        }
    }
}
