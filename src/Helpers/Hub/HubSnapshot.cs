namespace FineTuning.Hub;

/// <summary>
/// One repository at one revision, as transformers' <c>cached_file</c> sees it during one <c>from_pretrained</c>: the
/// first file found resolves the revision to a commit, and every later file is asked for at that commit — so a push
/// in between cannot mix two versions, and a file known not to exist there (<c>.no_exist</c>) is not asked for again.
/// <see cref="Folder"/> is the snapshot folder the local loaders then read.
/// </summary>
internal sealed class HubSnapshot(HubRepo repo, string revision, HubSettings settings)
{
    public HubRepo Repo { get; } = repo;

    public string Revision { get; } = revision;

    public HubSettings Settings { get; } = settings;

    /// <summary>The commit the revision resolved to, once a file was asked for.</summary>
    public string? Commit { get; private set; }

    /// <summary>The snapshot folder of <see cref="Commit"/>.</summary>
    public string Folder => new HubCache(Settings.HubCache).SnapshotFolder(Repo,
        Commit ?? throw new InvalidOperationException($"{Repo}: no file has been resolved yet"));

    /// <summary>The file's cached path (downloading it if needed); null for a missing optional file.</summary>
    /// <param name="filename">the path in the repository.</param>
    /// <param name="required">false: a file that does not exist — or, offline, is not cached — gives null, as
    /// transformers treats optional files such as tokenizer_config.json.</param>
    public string? Get(string filename, bool required) => FileDownload.RunSync(() => GetAsync(filename, required));

    public async Task<string?> GetAsync(string filename, bool required, CancellationToken cancellationToken = default)
    {
        var cache = new HubCache(Settings.HubCache);
        if (Commit is { } commit)
        {
            var known = cache.Lookup(Repo, RepoPath.Segments(filename, "file name"), commit);
            if (known.Path is not null) return known.Path;
            if (known.KnownMissing && !required) return null;
        }
        try
        {
            var (path, found) = await FileDownload.DownloadAsync(Repo, filename, Commit ?? Revision, Settings, cancellationToken).ConfigureAwait(false);
            Commit ??= found;
            return path;
        }
        catch (LocalEntryNotFoundException e) when (!required)
        {
            notCached[filename] = e;
            return null;
        }
        catch (EntryNotFoundException e) when (!required && e is not LocalEntryNotFoundException)
        {
            if (Commit is null && e.ServerCommit is { } c && RepoPath.Problem(c) is null) Commit = RepoPath.Token(c, "commit hash");
            return null;
        }
    }

    readonly Dictionary<string, LocalEntryNotFoundException> notCached = new(StringComparer.Ordinal);

    /// <summary>Why an optional file <see cref="Get"/> gave null for was not had, when the reason was that it is not
    /// cached and the Hub could not or may not be asked (offline); null when it does not exist or was found.</summary>
    public LocalEntryNotFoundException? NotCached(string filename) => notCached.GetValueOrDefault(filename);

    /// <summary>Whether the file exists at the revision, without downloading it.</summary>
    public bool Exists(string filename) =>
        FileDownload.RunSync(() => FileDownload.ExistsAsync(Repo, filename, Commit ?? Revision, Settings, CancellationToken.None));
}
