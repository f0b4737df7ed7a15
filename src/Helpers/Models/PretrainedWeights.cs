using FineTuning.SafeTensors;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// HF <c>modeling_utils._load_pretrained_model</c>: copies checkpoint tensors into a model by name and says what
/// did not fit. Loading is a name lookup because module field names are the checkpoint keys.
/// </summary>
internal static class PretrainedWeights
{
    // While a hub model loads from its cache snapshot, the messages name it as the caller wrote it ("bert-base-uncased"),
    // as HF's do, not by the snapshot path. Scoped per thread; set by ShowFolderAs.
    [ThreadStatic] static (string Folder, string Name)? shownAs;

    /// <summary>Until the returned scope is disposed, loading <paramref name="folder"/> on this thread reports it as
    /// <paramref name="nameAsPassed"/> (the report's ModelPath and HF's warnings).</summary>
    internal static IDisposable ShowFolderAs(string folder, string nameAsPassed)
    {
        var previous = shownAs;
        shownAs = (folder, nameAsPassed);
        return new Restore(() => shownAs = previous);
    }

    sealed class Restore(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    /// <summary>Last name segments that are not weights: HF registers position_ids as a buffer; we compute it.</summary>
    static readonly string[] IgnoredSuffixes = [".position_ids"];

    /// <param name="model">freshly constructed model (its state_dict keys are the expected keys).</param>
    /// <param name="modelClass">class name for the messages, e.g. BertForSequenceClassification.</param>
    /// <param name="prefix">the base model's attribute name, "bert": lets a bare BertModel checkpoint load into a
    /// head model (keys gain the prefix) and a full checkpoint load into BertModel (keys lose it).</param>
    /// <param name="checkpoint">the opened weights.</param>
    /// <param name="pathAsPassed">the folder as the caller wrote it (for the messages).</param>
    /// <param name="ignoreMismatchedSizes">re-initialise tensors whose shape differs instead of failing.</param>
    /// <param name="initModule">HF's <c>_init_weights</c>, applied to each module with a missing or mismatched weight.</param>
    public static LoadingReport Load(nn.Module model, string modelClass, string prefix, SafeTensorsCheckpoint checkpoint,
                                     string pathAsPassed, bool ignoreMismatchedSizes, Action<nn.Module> initModule)
    {
        if (shownAs is { } shown && shown.Folder == pathAsPassed) pathAsPassed = shown.Name;
        var expected = model.state_dict();
        var renamed = new Dictionary<string, string>();
        var ignored = new List<string>();
        var ckptKeyOf = new Dictionary<string, string>(); // fixed (current-style) name -> name in the file
        foreach (var name in checkpoint.Names)
        {
            var fixedName = FixLegacyName(name);
            if (fixedName != name) renamed[name] = fixedName;
            if (IgnoredSuffixes.Any(s => fixedName.EndsWith(s, StringComparison.Ordinal)) && !expected.ContainsKey(fixedName)
                && !expected.ContainsKey($"{prefix}.{fixedName}") && !expected.ContainsKey(StripPrefix(fixedName, prefix)))
            {
                ignored.Add(name);
                continue;
            }
            if (!ckptKeyOf.TryAdd(fixedName, name))
                throw new CheckpointException(checkpoint.FileOf(name),
                    $"both '{ckptKeyOf[fixedName]}' and '{name}' map to the weight '{fixedName}'.", name);
        }

        // Prefix handling, as HF decides it: compare what the checkpoint has with what the model expects.
        string dot = prefix + ".";
        bool hasPrefix = ckptKeyOf.Keys.Any(k => k.StartsWith(dot, StringComparison.Ordinal));
        bool expectsPrefix = expected.Keys.Any(k => k.StartsWith(dot, StringComparison.Ordinal));
        bool addPrefixToCheckpoint = !hasPrefix && expectsPrefix;    // bare BertModel weights into a head model
        bool removePrefixFromCheckpoint = hasPrefix && !expectsPrefix; // full weights into BertModel

        if (addPrefixToCheckpoint)
        {
            // HF: a head weight (classifier.*) in a checkpoint without base-model prefix means a corrupted file.
            var headKey = ckptKeyOf.Keys.FirstOrDefault(k => expected.ContainsKey(k));
            if (headKey is not null)
                throw new CheckpointException(checkpoint.FileOf(ckptKeyOf[headKey]),
                    $"the checkpoint has '{headKey}' but no '{dot}*' weights: the state dictionary looks corrupted. Was it saved properly?", headKey);
        }

        string ToModel(string k) => addPrefixToCheckpoint ? dot + k
                                  : removePrefixFromCheckpoint ? (k.StartsWith(dot, StringComparison.Ordinal) ? k[dot.Length..] : "\0" + k)
                                  : k;
        string ToCheckpoint(string k) => addPrefixToCheckpoint ? StripPrefix(k, prefix)
                                       : removePrefixFromCheckpoint ? dot + k
                                       : k;

        var unexpected = new List<string>();
        var shapes = new Dictionary<string, long[]>();
        var mismatched = new List<MismatchedKey>();
        var toLoad = new List<(string ModelKey, string FileKey)>();
        foreach (var (fixedName, fileName) in ckptKeyOf)
        {
            var modelKey = ToModel(fixedName);
            if (!expected.TryGetValue(modelKey, out var target))
            {
                unexpected.Add(fixedName);
                shapes[fixedName] = checkpoint.Info(fileName).Shape;
                continue;
            }
            var fileShape = checkpoint.Info(fileName).Shape;
            if (!fileShape.SequenceEqual(target.shape)) { mismatched.Add(new MismatchedKey(fixedName, fileShape, target.shape)); continue; }
            toLoad.Add((modelKey, fileName));
        }
        if (mismatched.Count > 0 && !ignoreMismatchedSizes)
            throw new CheckpointException(checkpoint.FileOf(ckptKeyOf[mismatched[0].Key]),
                $"Error(s) in loading state_dict for {modelClass}:\n" +
                string.Join("\n", mismatched.Select(m => $"\tsize mismatch for {m.Key}: copying a param with shape {LoadingReport.TorchSize(m.CheckpointShape)} from checkpoint, the shape in current model is {LoadingReport.TorchSize(m.ModelShape)}.")) +
                "\n\tYou may consider adding `ignoreMismatchedSizes: true` in the model `FromPretrained` method.",
                mismatched[0].Key);

        // Copy, one tensor at a time: peak memory is the model plus one tensor, never a second full state dict.
        using (no_grad())
        {
            foreach (var (modelKey, fileKey) in toLoad)
            {
                var target = expected[modelKey];
                using var source = checkpoint.Load(fileKey);
                using var converted = source.to(target.dtype, target.device);
                target.copy_(converted);
            }
        }

        var loaded = new HashSet<string>(toLoad.Select(t => t.ModelKey));
        var missingModelKeys = expected.Keys.Where(k => !loaded.Contains(k)).ToList();
        var missing = missingModelKeys.Where(k => mismatched.All(m => ToModel(m.Key) != k)).ToList();
        foreach (var k in missing) shapes[ToCheckpoint(k)] = expected[k].shape;

        // HF's _init_weights on each module that owns a missing or mismatched weight, in the model's module order.
        var ownerNames = new HashSet<string>(missingModelKeys.Select(k => k[..Math.Max(0, k.LastIndexOf('.'))]));
        foreach (var (name, module) in model.named_modules())
            if (ownerNames.Contains(name)) initModule(module);

        return new LoadingReport
        {
            ModelPath = pathAsPassed,
            ModelClass = modelClass,
            MissingKeys = missing.Select(ToCheckpoint).ToList(),
            Shapes = shapes,
            UnexpectedKeys = unexpected,
            MismatchedKeys = mismatched,
            RenamedKeys = renamed,
            IgnoredKeys = ignored,
            LoadedKeys = toLoad.Select(t => t.ModelKey).ToList(),
        };
    }

    /// <summary>TensorFlow-era names HF still accepts: LayerNorm.gamma → LayerNorm.weight, LayerNorm.beta → LayerNorm.bias.</summary>
    internal static string FixLegacyName(string key)
    {
        if (key.EndsWith(".gamma", StringComparison.Ordinal)) return key[..^".gamma".Length] + ".weight";
        if (key.EndsWith(".beta", StringComparison.Ordinal)) return key[..^".beta".Length] + ".bias";
        return key;
    }

    static string StripPrefix(string key, string prefix)
        => key.StartsWith(prefix + ".", StringComparison.Ordinal) ? key[(prefix.Length + 1)..] : key;
}
