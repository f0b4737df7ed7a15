namespace FineTuning.Hub;

/// <summary>
/// The cache folder in Python huggingface_hub's layout, so that each side uses what the other downloaded:
/// <code>
/// {HubCache}/models--google-bert--bert-base-uncased/
///     blobs/{etag}                      the files' contents, named by ETag (sha256 for LFS files, git sha1 otherwise)
///     refs/main                         the commit "main" pointed to when last asked (40 hex digits, no newline)
///     snapshots/{commit}/config.json    a relative symbolic link to ../../blobs/{etag} (a copy where links fail)
///     .no_exist/{commit}/{file}         empty marker: the file does not exist at that commit
/// {HubCache}/.locks/models--google-bert--bert-base-uncased/{etag}.lock
/// </code>
/// </summary>
internal sealed class HubCache(string root)
{
    /// <summary>The cache folder.</summary>
    public string Root { get; } = root;

    public string RepoFolder(HubRepo repo) => Path.Combine(Root, repo.CacheFolderName);

    public string BlobPath(HubRepo repo, string etag) => Path.Combine(RepoFolder(repo), "blobs", etag);

    public string SnapshotFolder(HubRepo repo, string commit) => Path.Combine(RepoFolder(repo), "snapshots", commit);

    public string PointerPath(HubRepo repo, string commit, string[] file) => Path.Combine([SnapshotFolder(repo, commit), .. file]);

    public string NoExistPath(HubRepo repo, string commit, string[] file) => Path.Combine([RepoFolder(repo), ".no_exist", commit, .. file]);

    public string RefPath(HubRepo repo, string[] revision) => Path.Combine([RepoFolder(repo), "refs", .. revision]);

    public string LockPath(HubRepo repo, string etag) => Path.Combine(Root, ".locks", repo.CacheFolderName, etag + ".lock");

    /// <summary>The commit a branch or tag pointed to when last resolved, or null when it never was.</summary>
    public string? ReadRef(HubRepo repo, string revision)
    {
        var path = RefPath(repo, RepoPath.Segments(revision, "revision"));
        if (!File.Exists(path)) return null;
        var commit = File.ReadAllText(path).Trim();
        return RepoPath.Problem(commit) is null && commit.Length > 0 ? RepoPath.Token(commit, $"commit hash in {path}") : null;
    }

    /// <summary>huggingface_hub's <c>_cache_commit_hash_for_specific_revision</c>: records revision → commit, unless the
    /// revision is that commit, or the ref already says so (a read-only cache then still works).</summary>
    public void WriteRef(HubRepo repo, string revision, string commit)
    {
        if (revision == commit) return;
        var path = RefPath(repo, RepoPath.Segments(revision, "revision"));
        if (File.Exists(path) && File.ReadAllText(path) == commit) return;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.WriteAllText(path, commit);
    }

    /// <summary>huggingface_hub's <c>try_to_load_from_cache</c>: the cached file for a revision (a commit hash, or a
    /// branch / tag through refs/), whether the file is known not to exist there, or neither.</summary>
    public CacheLookup Lookup(HubRepo repo, string[] file, string revision)
    {
        var commit = RepoPath.IsCommitHash(revision) ? revision : ReadRef(repo, revision);
        if (commit is null) return new CacheLookup(null, null, false);
        if (File.Exists(NoExistPath(repo, commit, file))) return new CacheLookup(null, commit, true);
        var pointer = PointerPath(repo, commit, file);
        return new CacheLookup(IsUsableFile(pointer) ? pointer : null, commit, false);
    }

    /// <summary>Creates the <c>.no_exist/{commit}/{file}</c> marker, as huggingface_hub does on a 404 for an entry.</summary>
    public void MarkMissing(HubRepo repo, string commit, string[] file)
    {
        var path = NoExistPath(repo, commit, file);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (!File.Exists(path)) File.WriteAllBytes(path, []);
    }

    /// <summary>Whether <paramref name="path"/> is a file, or a symbolic link whose final target is an existing file
    /// (Python's <c>os.path.exists</c>: a dangling link does not count).</summary>
    public static bool IsUsableFile(string path)
    {
        var info = new FileInfo(path);
        if (info.LinkTarget is null) return info.Exists;
        try
        {
            return info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo { Exists: true };
        }
        catch (IOException)
        {
            return false; // a link loop
        }
    }

    /// <summary>
    /// huggingface_hub's <c>_create_symlink</c>: <paramref name="pointer"/> becomes a relative symbolic link to
    /// <paramref name="blob"/> (relative, so the cache folder can be moved). Where links cannot be made (Windows
    /// without developer mode), a blob just downloaded is moved into the snapshot, and an older one copied.
    /// </summary>
    public static void Link(string blob, string pointer, bool newBlob)
    {
        var folder = Path.GetDirectoryName(pointer)!;
        Directory.CreateDirectory(folder);
        if (File.Exists(pointer) || new FileInfo(pointer).LinkTarget is not null) File.Delete(pointer);
        var relative = Path.GetRelativePath(folder, blob);
        try
        {
            File.CreateSymbolicLink(pointer, relative);
            return;
        }
        catch (IOException) when (new FileInfo(pointer).LinkTarget is { } target
                                  && Path.GetFullPath(target, folder) == Path.GetFullPath(blob))
        {
            return; // another process linked the same blob between our delete and our link
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            Logging.Info($"symbolic links are not possible in {folder} ({e.Message}); {(newBlob ? "moving" : "copying")} the file instead");
        }
        if (newBlob)
        {
            File.Move(blob, pointer, overwrite: true);
            return;
        }
        var temp = pointer + $".{Guid.NewGuid():N}.tmp";
        try
        {
            File.Copy(blob, temp);
            File.Move(temp, pointer, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}

/// <summary>What the cache knows of one file: its path (null when not cached), the commit the revision resolved to
/// (null when unknown), and whether the file is known not to exist at that commit.</summary>
internal readonly record struct CacheLookup(string? Path, string? Commit, bool KnownMissing);
