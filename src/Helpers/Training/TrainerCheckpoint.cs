using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FineTuning.Amp;
using FineTuning.SafeTensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// The files of a Trainer checkpoint folder (<c>OutputDir/checkpoint-N</c>) besides the model's own
/// (config.json, model.safetensors) and the tokenizer's. HF writes these with <c>torch.save</c> (pickle); we never
/// run pickle, so the same content goes into safetensors and JSON under HF's base names:
/// <list type="bullet">
/// <item><c>optimizer.safetensors</c>: AdamW's exp_avg / exp_avg_sq of parameter i as <c>state.{i}.exp_avg</c> ...,
/// the per-parameter step counts and the param groups (lr, betas, eps, weight_decay) in <c>__metadata__</c> — torch's
/// <c>optimizer.state_dict()</c> layout.</item>
/// <item><c>scheduler.json</c>: <c>{"last_epoch": N, "base_lrs": [...], "_last_lr": [...]}</c> (reduce_lr_on_plateau adds
/// torch's <c>best</c>, <c>num_bad_epochs</c>, <c>cooldown_counter</c>).</item>
/// <item><c>scaler.json</c> (Fp16 only): the GradScaler's <c>scale</c> and <c>_growth_tracker</c> (HF: scaler.pt).</item>
/// <item><c>rng_state.safetensors</c>: the CPU generator's state (torch's <c>rng_state.pth</c> "cpu" entry).</item>
/// <item><c>trainer_state.json</c>, <c>training_args.json</c> (HF: training_args.bin, a pickle).</item>
/// </list>
/// Python <c>transformers</c> loads the folder as a model (config + safetensors); resuming it in Python needs the
/// optimizer re-saved there, and the reverse (a Python checkpoint's optimizer.pt) is refused here, not unpickled.
/// </summary>
public static class TrainerCheckpoint
{
    /// <summary>HF's <c>PREFIX_CHECKPOINT_DIR</c>.</summary>
    public const string Prefix = "checkpoint";
    public const string TrainerStateName = "trainer_state.json";
    public const string TrainingArgsName = "training_args.json";
    public const string OptimizerName = "optimizer.safetensors";
    public const string SchedulerName = "scheduler.json";
    public const string RngStateName = "rng_state.safetensors";
    public const string ScalerName = "scaler.json";

    static readonly Regex CheckpointFolder = new(@"^checkpoint-(\d+)$", RegexOptions.CultureInvariant);

    /// <summary>The <c>checkpoint-N</c> folders directly under <paramref name="outputDir"/>, by step, oldest first
    /// (HF's <c>_sorted_checkpoints</c> without the best-model move).</summary>
    public static IReadOnlyList<string> Sorted(string outputDir)
    {
        if (!Directory.Exists(outputDir)) return [];
        return Directory.GetDirectories(outputDir)
            .Select(d => (Path: d, Match: CheckpointFolder.Match(System.IO.Path.GetFileName(d))))
            .Where(x => x.Match.Success && long.TryParse(x.Match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .OrderBy(x => long.Parse(x.Match.Groups[1].Value, CultureInfo.InvariantCulture))
            .Select(x => x.Path)
            .ToList();
    }

    /// <summary>
    /// The best checkpoint a resumed <c>trainer_state.json</c> refers to, as a folder of <paramref name="outputDir"/> (the
    /// folder of the checkpoint being resumed): <c>best_global_step</c> (or the <c>checkpoint-N</c> name at the end of
    /// <c>best_model_checkpoint</c>) mapped to <c>outputDir/checkpoint-N</c> when that folder exists, else null. The saved path itself is never used: it may
    /// point elsewhere (an output folder that was moved, a file from someone else), and the Trainer reads the best
    /// model from it and keeps it from rotation.
    /// </summary>
    public static string? BestCheckpointIn(string outputDir, TrainerState saved)
    {
        int? step = saved.BestGlobalStep;
        if (step is null && saved.BestModelCheckpoint is { } path
            && CheckpointFolder.Match(System.IO.Path.GetFileName(path.TrimEnd('/', '\\'))) is { Success: true } m
            && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            step = n;
        if (step is null) return null;
        var folder = System.IO.Path.GetFullPath(System.IO.Path.Combine(outputDir, $"{Prefix}-{step}"));
        return Directory.Exists(folder) ? folder : null;
    }

    /// <summary>HF <c>get_last_checkpoint</c>: the <c>checkpoint-N</c> folder with the largest N, or null.</summary>
    public static string? GetLastCheckpoint(string outputDir) => Sorted(outputDir).LastOrDefault();

    // ---- writing and removing checkpoint folders atomically ----------------------------------------------------------

    /// <summary>The hidden folder a checkpoint is written into before it gets its name:
    /// <c>.checkpoint-N.{guid}.tmp</c>. Never a <c>checkpoint-N</c> name, so never picked by
    /// <see cref="GetLastCheckpoint"/> however far the write got.</summary>
    internal static string TempFolderFor(string final) =>
        Path.Combine(Path.GetDirectoryName(final)!, $".{Path.GetFileName(final)}.{Guid.NewGuid():N}.tmp");

    /// <summary>
    /// Gives the complete folder <paramref name="temp"/> the name <paramref name="final"/>, atomically: its entries are
    /// synced to disk first; an existing <paramref name="final"/> (a checkpoint of an earlier run with the same step) is
    /// first renamed aside to <c>.checkpoint-N.{guid}.old</c>, never deleted before the new one is in place, so a crash
    /// at any instant leaves a complete <c>checkpoint-N</c> or one that <see cref="RemoveInterruptedSaves"/> restores.
    /// </summary>
    internal static void Publish(string temp, string final)
    {
        AtomicFile.SyncDirectory(temp);
        var parent = Path.GetDirectoryName(final)!;
        string? old = null;
        if (Directory.Exists(final))
        {
            old = Path.Combine(parent, $".{Path.GetFileName(final)}.{Guid.NewGuid():N}.old");
            Directory.Move(final, old);
        }
        try
        {
            FileWriteHooks.BeforeRename?.Invoke(final);
            Directory.Move(temp, final);
        }
        catch when (old is not null)
        {
            Directory.Move(old, final); // the new one could not take its place: the old one goes back
            throw;
        }
        AtomicFile.SyncDirectory(parent);
        if (old is not null) Directory.Delete(old, recursive: true);
    }

    /// <summary>Deletes a checkpoint folder so that no reader (or a resume after a crash) ever sees it half deleted:
    /// it is first renamed to a hidden <c>.checkpoint-N.{guid}.deleting</c>, then removed.</summary>
    internal static void Delete(string checkpoint)
    {
        var full = Path.GetFullPath(checkpoint).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        var doomed = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.deleting");
        Directory.Move(full, doomed);
        AtomicFile.SyncDirectory(parent);
        Directory.Delete(doomed, recursive: true);
    }

    static readonly Regex LeftoverFolder = new(@"^\.(checkpoint-\d+)\.[0-9a-f]{32}\.(tmp|old|deleting)$", RegexOptions.CultureInvariant);
    static readonly Regex LeftoverModelFolder = new(@"^\.saved-model\.[0-9a-f]{32}\.tmp$", RegexOptions.CultureInvariant);
    static readonly Regex LeftoverFile = new(@"^\..+\.[0-9a-f]{32}\.tmp$", RegexOptions.CultureInvariant);

    /// <summary>
    /// Cleans up after a process that was killed while saving into <paramref name="outputDir"/>: removes half-written
    /// checkpoint folders (<c>.checkpoint-N.*.tmp</c>), half-deleted ones (<c>.deleting</c>) and temporary files,
    /// and renames a checkpoint that was set aside to be replaced (<c>.old</c>) back to <c>checkpoint-N</c> when the
    /// replacement never arrived. The Trainer calls it while holding the output folder's lock, before it picks the
    /// last checkpoint. Returns what it did, one line each (also logged).
    /// </summary>
    public static IReadOnlyList<string> RemoveInterruptedSaves(string outputDir)
    {
        var done = new List<string>();
        if (!Directory.Exists(outputDir)) return done;
        foreach (var dir in Directory.GetDirectories(outputDir).Order(StringComparer.Ordinal))
        {
            if (LeftoverModelFolder.IsMatch(Path.GetFileName(dir)))
            {
                Directory.Delete(dir, recursive: true);
                done.Add($"Removed {dir}, left by an interrupted save of the model.");
                continue;
            }
            var m = LeftoverFolder.Match(Path.GetFileName(dir));
            if (!m.Success) continue;
            var final = Path.Combine(outputDir, m.Groups[1].Value);
            if (m.Groups[2].Value == "old" && !Directory.Exists(final))
            {
                Directory.Move(dir, final);
                done.Add($"Restored {final}: a save that was replacing it was interrupted.");
            }
            else
            {
                Directory.Delete(dir, recursive: true);
                done.Add($"Removed {dir}, left by an interrupted {(m.Groups[2].Value == "tmp" ? "checkpoint save" : m.Groups[2].Value == "old" ? "checkpoint replacement" : "checkpoint deletion")}.");
            }
        }
        foreach (var file in Directory.GetFiles(outputDir).Order(StringComparer.Ordinal))
        {
            if (!LeftoverFile.IsMatch(Path.GetFileName(file))) continue;
            File.Delete(file);
            done.Add($"Removed {file}, a temporary file left by an interrupted save.");
        }
        if (done.Count > 0) AtomicFile.SyncDirectory(outputDir);
        foreach (var line in done) Logging.Warning(line);
        return done;
    }

    // ---- optimizer -----------------------------------------------------------------------------------------------

    /// <summary>Writes AdamW's state (moments, step counts, param groups) to <c>optimizer.safetensors</c>.</summary>
    public static void SaveOptimizer(AdamW optimizer, string folder)
    {
        var sd = optimizer.state_dict();
        var tensors = new List<(string, Tensor)>();
        var steps = new List<long>();
        for (int i = 0; i < sd.State.Count; i++)
        {
            var s = (AdamW.State)sd.State[i];
            tensors.Add(($"state.{i}.exp_avg", s.exp_avg));
            tensors.Add(($"state.{i}.exp_avg_sq", s.exp_avg_sq));
            if (s.max_exp_avg_sq is not null) tensors.Add(($"state.{i}.max_exp_avg_sq", s.max_exp_avg_sq));
            steps.Add(s.step);
        }
        int index = 0;
        var groups = optimizer.ParamGroups.Cast<ParamGroup>().Select(g =>
        {
            var o = (AdamW.Options)g.Options;
            var count = g.Parameters.Count();
            var result = new Dictionary<string, object?>
            {
                ["lr"] = g.LearningRate, ["initial_lr"] = g.InitialLearningRate, ["betas"] = new[] { o.beta1, o.beta2 },
                ["eps"] = o.eps, ["weight_decay"] = o.weight_decay, ["amsgrad"] = o.amsgrad, ["maximize"] = o.maximize,
                ["params"] = Enumerable.Range(index, count).ToArray(),
            };
            index += count;
            return result;
        }).ToList();
        var metadata = new Dictionary<string, string>
        {
            ["format"] = "pt",
            ["optimizer"] = "AdamW",
            ["steps"] = JsonSerializer.Serialize(steps),
            ["param_groups"] = JsonSerializer.Serialize(groups),
        };
        SafeTensorsWriter.Save(Path.Combine(folder, OptimizerName), tensors, metadata);
    }

    /// <summary>Restores what <see cref="SaveOptimizer"/> wrote into an AdamW built over the same parameters (in the same
    /// groups). Learning rates are left to the scheduler, as HF's resume does.</summary>
    /// <exception cref="CheckpointException">The file is missing, is a Python <c>optimizer.pt</c> (pickle, refused), or
    /// does not fit the optimizer (the message names the entry).</exception>
    public static void LoadOptimizer(AdamW optimizer, string folder)
    {
        var path = Path.Combine(folder, OptimizerName);
        if (!File.Exists(path))
        {
            if (File.Exists(Path.Combine(folder, "optimizer.pt")))
                throw new CheckpointException(Path.Combine(folder, "optimizer.pt"),
                    "this is a PyTorch pickle file (written by Python transformers); it is never unpickled here. "
                    + "Resume from a checkpoint written by this library, or load only the model weights from the folder.");
            throw new CheckpointException(path, "optimizer state file not found");
        }
        using var file = SafeTensorsFile.Open(path);
        var sd = optimizer.state_dict();
        var steps = ReadMetadata<long[]>(file, path, "steps");
        if (steps.Length != sd.State.Count)
            throw new CheckpointException(path, $"the file holds state for {steps.Length} parameters, the optimizer has {sd.State.Count}", "steps");
        using var noGrad = torch.no_grad();
        for (int i = 0; i < sd.State.Count; i++)
        {
            var s = (AdamW.State)sd.State[i];
            CopyInto(file, path, $"state.{i}.exp_avg", s.exp_avg);
            CopyInto(file, path, $"state.{i}.exp_avg_sq", s.exp_avg_sq);
            if (s.max_exp_avg_sq is not null) CopyInto(file, path, $"state.{i}.max_exp_avg_sq", s.max_exp_avg_sq);
            s.step = steps[i];
        }
    }

    // ---- scheduler, RNG -----------------------------------------------------------------------------------------

    /// <summary>Writes the scheduler's step count and learning rates to <c>scheduler.json</c>.</summary>
    public static void SaveScheduler(LrScheduler scheduler, string folder)
    {
        var state = scheduler.StateDict();
        var fields = new List<(string, Action<PythonJson.Writer>)>
        {
            ("_last_lr", x => x.Array(scheduler.LastLr.Select(v => (Action<PythonJson.Writer>)(y => y.Double(v))))),
            ("base_lrs", x => x.Array(scheduler.BaseLrs.Select(v => (Action<PythonJson.Writer>)(y => y.Double(v))))),
        };
        if (scheduler.IsMetricDriven) // reduce_lr_on_plateau: torch's ReduceLROnPlateau state; best null = no metric yet (±inf)
            fields.AddRange([
                ("best", x => x.Double(state.Best is { } b && double.IsFinite(b) ? b : null)),
                ("cooldown_counter", x => x.Int(state.CooldownCounter)),
            ]);
        fields.Add(("last_epoch", x => x.Int(scheduler.CurrentStep)));
        if (scheduler.IsMetricDriven) fields.Add(("num_bad_epochs", x => x.Int(state.NumBadEpochs)));
        var w = new PythonJson.Writer();
        w.Object(fields);
        AtomicFile.WriteAllText(Path.Combine(folder, SchedulerName), w.ToString() + "\n");
    }

    /// <summary>Restores the step count of <c>scheduler.json</c> (learning rates follow from it).</summary>
    public static void LoadScheduler(LrScheduler scheduler, string folder)
    {
        var path = Path.Combine(folder, SchedulerName);
        if (!File.Exists(path)) throw new CheckpointException(path, "scheduler state file not found");
        var fields = PythonJson.ReadObject(PythonJson.ReadText(path), path);
        int Int(string field) => NonNegativeInt(fields, field, path);
        var step = Int("last_epoch");
        if (!scheduler.IsMetricDriven)
        {
            scheduler.LoadStateDict(new LrSchedulerState(step));
            return;
        }
        if (!fields.TryGetValue("_last_lr", out var lrs) || lrs.ValueKind != JsonValueKind.Array
            || lrs.GetArrayLength() != scheduler.BaseLrs.Count || lrs.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out _)))
            throw new CheckpointException(path, $"field '_last_lr': expected {scheduler.BaseLrs.Count} learning rates (reduce_lr_on_plateau)", "_last_lr");
        if (!fields.TryGetValue("best", out var bestElement)
            || !(bestElement.ValueKind == JsonValueKind.Null || bestElement.ValueKind == JsonValueKind.Number && bestElement.TryGetDouble(out _)))
            throw new CheckpointException(path, "field 'best': expected a number or null (reduce_lr_on_plateau)", "best");
        double? best = bestElement.ValueKind == JsonValueKind.Null ? null : bestElement.GetDouble();
        scheduler.LoadStateDict(new LrSchedulerState(step, lrs.EnumerateArray().Select(v => v.GetDouble()).ToArray(), best,
                                                     Int("num_bad_epochs"), Int("cooldown_counter")));
    }

    /// <summary>Writes the fp16 loss scaler's state (torch's <c>scaler.state_dict()</c> keys) to <c>scaler.json</c>.</summary>
    public static void SaveScaler(GradScaler scaler, string folder)
    {
        var state = scaler.StateDict();
        var w = new PythonJson.Writer();
        w.Object([
            ("scale", x => x.Double(state.Scale)),
            ("growth_factor", x => x.Double(state.GrowthFactor)),
            ("backoff_factor", x => x.Double(state.BackoffFactor)),
            ("growth_interval", x => x.Int(state.GrowthInterval)),
            ("_growth_tracker", x => x.Int(state.GrowthTracker)),
        ]);
        AtomicFile.WriteAllText(Path.Combine(folder, ScalerName), w.ToString() + "\n");
    }

    /// <summary>Restores the scale and growth count of <c>scaler.json</c>. A checkpoint without one (saved without
    /// Fp16) leaves the scaler at its initial scale, as HF does.</summary>
    public static void LoadScaler(GradScaler scaler, string folder)
    {
        var path = Path.Combine(folder, ScalerName);
        if (!File.Exists(path)) return;
        var fields = PythonJson.ReadObject(PythonJson.ReadText(path), path);
        if (!fields.TryGetValue("scale", out var s) || s.ValueKind != JsonValueKind.Number || !s.TryGetDouble(out var scale)
            || !(scale > 0) || double.IsInfinity(scale))
            throw new CheckpointException(path, "field 'scale': expected a positive number", "scale");
        scaler.LoadStateDict(scaler.StateDict() with { Scale = scale, GrowthTracker = NonNegativeInt(fields, "_growth_tracker", path) });
    }

    /// <summary>A field that must be a non-negative integer, or an error naming it.</summary>
    static int NonNegativeInt(Dictionary<string, JsonElement> fields, string field, string path) =>
        fields.TryGetValue(field, out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var n) && n >= 0 ? n
            : throw new CheckpointException(path, $"field '{field}': expected a non-negative integer", field);

    /// <summary>Writes the CPU random generator's state (dropout draws from it) to <c>rng_state.safetensors</c>.</summary>
    public static void SaveRngState(string folder)
    {
        using var state = torch.Generator.Default.get_state();
        SafeTensorsWriter.Save(Path.Combine(folder, RngStateName), [("cpu", state)]);
    }

    /// <summary>Restores the CPU generator's state. A checkpoint without the file (e.g. from Python) logs a warning
    /// and continues, as HF does when rng_state.pth is missing: the run then is not bit-reproducible.</summary>
    public static void LoadRngState(string folder)
    {
        var path = Path.Combine(folder, RngStateName);
        if (!File.Exists(path))
        {
            Logging.Info($"Didn't find an RNG file at {path}, if you are resuming a training that wasn't launched in a distributed fashion, reproducibility is not guaranteed.");
            return;
        }
        using var file = SafeTensorsFile.Open(path);
        if (!file.Contains("cpu")) throw new CheckpointException(path, "no 'cpu' generator state in the file", "cpu");
        using var state = file.Load("cpu");
        try
        {
            torch.Generator.Default.set_state(state);
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException(path, $"the 'cpu' generator state was refused by libtorch: {e.Message}", "cpu", e);
        }
    }

    // ---- model weights ------------------------------------------------------------------------------------------

    /// <summary>
    /// Copies the weights saved in <paramref name="folder"/> (model.safetensors or its sharded index) into
    /// <paramref name="model"/>, strictly: every entry of the model's state dict must be there with its shape (HF's
    /// <c>_load_from_checkpoint</c> / <c>_load_best_model</c>). For a <see cref="Peft.PeftModel"/> the folder holds its
    /// adapter (adapter_model.safetensors), which is loaded instead.
    /// </summary>
    public static void LoadModelWeights(nn.Module model, string folder)
    {
        // A PEFT model's checkpoint is its adapter (HF's _load_from_checkpoint calls model.load_adapter for these).
        if (model is Peft.PeftModel peft)
        {
            peft.LoadAdapter(folder);
            return;
        }
        using var checkpoint = SafeTensorsCheckpoint.OpenFolder(folder);
        var state = model.state_dict();
        var unexpected = checkpoint.Names.Where(n => !state.ContainsKey(n) && !n.EndsWith(".position_ids", StringComparison.Ordinal)).ToList();
        if (unexpected.Count > 0)
            throw new CheckpointException(checkpoint.FileOf(unexpected[0]),
                $"the checkpoint has weights the model does not: {string.Join(", ", unexpected.Take(5))}{(unexpected.Count > 5 ? ", ..." : "")}", unexpected[0]);
        using var noGrad = torch.no_grad();
        foreach (var (name, target) in state)
        {
            if (!checkpoint.Contains(name))
                throw new CheckpointException(Path.Combine(folder, SafeTensorsCheckpoint.SingleFileName),
                    $"the checkpoint lacks the weight '{name}' of the model", name);
            var info = checkpoint.Info(name);
            if (!info.Shape.SequenceEqual(target.shape))
                throw new CheckpointException(checkpoint.FileOf(name),
                    $"'{name}' has shape [{string.Join(", ", info.Shape)}] in the checkpoint, [{string.Join(", ", target.shape)}] in the model", name);
            using var source = checkpoint.LoadAs(name, target.dtype);
            target.copy_(source);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------------------


    static T ReadMetadata<T>(SafeTensorsFile file, string path, string key)
    {
        if (file.Metadata is null || !file.Metadata.TryGetValue(key, out var text))
            throw new CheckpointException(path, $"__metadata__ has no '{key}'", key);
        try
        {
            return JsonSerializer.Deserialize<T>(text) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"__metadata__ '{key}' is not valid: {e.Message}", key, e);
        }
    }

    static void CopyInto(SafeTensorsFile file, string path, string name, Tensor target)
    {
        if (!file.Contains(name)) throw new CheckpointException(path, $"missing tensor '{name}'", name);
        var info = file.Info(name);
        if (!info.Shape.SequenceEqual(target.shape))
            throw new CheckpointException(path,
                $"'{name}' has shape [{string.Join(", ", info.Shape)}], the optimizer expects [{string.Join(", ", target.shape)}]", name);
        using var source = file.LoadAs(name, target.dtype);
        target.copy_(source);
    }
}
