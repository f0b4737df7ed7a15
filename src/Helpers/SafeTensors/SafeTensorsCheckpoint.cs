using System.Text.Json;
using TorchSharp;

namespace FineTuning.SafeTensors;

/// <summary>
/// The weights of a Hugging Face model folder: a single <c>model.safetensors</c>, or shards listed by
/// <c>model.safetensors.index.json</c>. Each shard is opened (memory-mapped) once and stays open until disposal.
/// </summary>
public sealed class SafeTensorsCheckpoint : IDisposable
{
    /// <summary>The single-file weights name transformers writes.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>The shard index name transformers writes.</summary>
    public const string IndexName = "model.safetensors.index.json";

    const string PickleName = "pytorch_model.bin";
    const string PickleIndexName = "pytorch_model.bin.index.json";

    readonly Dictionary<string, SafeTensorsFile> fileOf;
    readonly List<SafeTensorsFile> files;

    SafeTensorsCheckpoint(string folder, List<SafeTensorsFile> files, Dictionary<string, SafeTensorsFile> fileOf)
    {
        Folder = folder;
        this.files = files;
        this.fileOf = fileOf;
        Names = fileOf.Keys.Order(StringComparer.Ordinal).ToList().AsReadOnly();
    }

    /// <summary>The model folder.</summary>
    public string Folder { get; }

    /// <summary>Every tensor name of the checkpoint, sorted ordinally.</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>Whether the checkpoint holds a tensor of that name.</summary>
    public bool Contains(string name) => fileOf.ContainsKey(name);

    /// <summary>The header entry of a tensor (offsets are relative to its own shard's data section).</summary>
    public SafeTensorInfo Info(string name) => File(name).Info(name);

    /// <summary>The path of the file that holds a tensor.</summary>
    public string FileOf(string name) => File(name).FilePath;

    /// <summary>Loads a tensor as a new CPU tensor; the caller owns it.</summary>
    public torch.Tensor Load(string name) => File(name).Load(name);

    /// <summary>Loads a tensor converted to <paramref name="type"/>.</summary>
    public torch.Tensor LoadAs(string name, torch.ScalarType type) => File(name).LoadAs(name, type);

    SafeTensorsFile File(string name) =>
        fileOf.TryGetValue(name, out var file) ? file : throw new KeyNotFoundException($"{Folder}: no tensor named '{name}'");

    internal static string IndexFileName(string baseName) => baseName + ".safetensors.index.json";

    /// <summary>
    /// Opens the weights of a model folder. Every problem (missing folder, no weights, pickle-only weights, a bad
    /// index, a missing shard, a bad file) is a <see cref="CheckpointException"/> naming the file at fault.
    /// </summary>
    public static SafeTensorsCheckpoint OpenFolder(string folder)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        const string expected = $"expected {SingleFileName}, or {IndexName} with its shards";
        if (!Directory.Exists(folder))
            throw new CheckpointException(folder, System.IO.File.Exists(folder)
                ? $"is a file, not a model folder; {expected}"
                : $"model folder not found; {expected}");

        var single = Path.Combine(folder, SingleFileName);
        if (System.IO.File.Exists(single))
        {
            var file = SafeTensorsFile.Open(single);
            return new SafeTensorsCheckpoint(folder, [file], file.Names.ToDictionary(n => n, _ => file, StringComparer.Ordinal));
        }

        var index = Path.Combine(folder, IndexName);
        if (System.IO.File.Exists(index)) return OpenIndexed(folder, index);

        foreach (var pickle in new[] { PickleName, PickleIndexName })
        {
            if (System.IO.File.Exists(Path.Combine(folder, pickle)))
                throw new CheckpointException(Path.Combine(folder, pickle),
                    "only PyTorch pickle weights found; this library never executes pickle (it can run arbitrary code). " +
                    "Convert once in Python: from transformers import AutoModel; " +
                    $"AutoModel.from_pretrained(\"{folder}\").save_pretrained(\"{folder}\", safe_serialization=True) " +
                    "— to keep heads such as cls.* or classifier.*, use the matching class instead of AutoModel " +
                    "(e.g. BertForPreTraining, BertForSequenceClassification).");
        }

        var present = Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(10).ToList();
        throw new CheckpointException(folder, present.Count == 0
            ? $"model folder is empty; {expected}"
            : $"no weights found; {expected}; the folder holds: {string.Join(", ", present)}");
    }

    static SafeTensorsCheckpoint OpenIndexed(string folder, string indexPath)
    {
        var weightMap = ReadWeightMap(indexPath);
        var shards = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        var fileOf = new Dictionary<string, SafeTensorsFile>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, shardName) in weightMap.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (!shards.TryGetValue(shardName, out var shard))
                {
                    var shardPath = Path.Combine(folder, shardName);
                    if (!System.IO.File.Exists(shardPath))
                        throw new CheckpointException(indexPath,
                            $"tensor '{name}' is in shard '{shardName}', which does not exist in {folder}", name);
                    shard = SafeTensorsFile.Open(shardPath);
                    shards.Add(shardName, shard);
                }
                if (!shard.Contains(name))
                    throw new CheckpointException(shard.FilePath,
                        $"tensor '{name}' is listed in {Path.GetFileName(indexPath)} for this shard but the shard does not contain it", name);
                fileOf.Add(name, shard);
            }
        }
        catch
        {
            foreach (var shard in shards.Values) shard.Dispose();
            throw;
        }
        // Tensors a shard holds beyond the index are ignored: the index is the checkpoint's table of contents.
        return new SafeTensorsCheckpoint(folder, shards.Values.ToList(), fileOf);
    }

    internal static Dictionary<string, string> ReadWeightMap(string indexPath)
    {
        JsonDocument document;
        try
        {
            var bytes = System.IO.File.ReadAllBytes(indexPath);
            if (!System.Text.Unicode.Utf8.IsValid(bytes)) throw new CheckpointException(indexPath, "not valid UTF-8 text");
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException e)
        {
            throw new CheckpointException(indexPath, $"not valid JSON {PythonJson.ParseError(e)}", inner: e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (PythonJson.FindUnreadableString(root) is { } unreadable)
                throw new CheckpointException(indexPath, PythonJson.UnreadableStringMessage(unreadable));
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var map))
                throw new CheckpointException(indexPath, "missing 'weight_map' (expected {\"metadata\": {...}, \"weight_map\": {tensor: shard file}})", "weight_map");
            if (map.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(indexPath, $"'weight_map' must be an object, found {map.ValueKind}", "weight_map");
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var entry in map.EnumerateObject())
            {
                if (entry.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointException(indexPath, $"tensor '{entry.Name}': shard must be a file name string, found {entry.Value.ValueKind}", entry.Name);
                var shard = entry.Value.GetString()!;
                // Plain file names only: an index must not reach outside its folder ("../", absolute paths).
                if (shard.Length == 0 || Path.GetFileName(shard) != shard || shard is "." or "..")
                    throw new CheckpointException(indexPath, $"tensor '{entry.Name}': shard '{shard}' is not a plain file name in the model folder", entry.Name);
                if (!result.TryAdd(entry.Name, shard))
                    throw new CheckpointException(indexPath, $"tensor '{entry.Name}' appears twice in 'weight_map'", entry.Name);
            }
            if (result.Count == 0)
                throw new CheckpointException(indexPath, "'weight_map' lists no tensors", "weight_map");
            return result;
        }
    }

    /// <summary>Closes every shard. Tensors already loaded stay valid.</summary>
    public void Dispose()
    {
        foreach (var file in files) file.Dispose();
    }
}
