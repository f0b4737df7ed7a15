using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace FineTuning.NotebookRunner;

/// <summary>
/// What a run of the lessons will use and roughly how long it takes, printed before the first notebook: the kernel,
/// then the model, data and CPU/GPU profile from the FT_* knobs when set, else the lessons' own defaults (read from
/// their knobs cell, so this never disagrees with the lessons).
/// </summary>
public static partial class RunPlan
{
    /// <summary>MRPC's training split (the course's task): the step count when the data is the Hub's.</summary>
    const int MrpcTrainPairs = 3668;

    /// <summary>bench/LATEST.md: a bert-base training step (batch 8, fp32, 2 cores) took about 2.5 s.</summary>
    const double BertBaseCpuSecondsPerStep = 2.5;

    /// <summary>Issue 15: one epoch of MRPC (459 steps, batch 8) with all-MiniLM-L6-v2 took about 6 minutes on 2 cores.</summary>
    const double MiniLmCpuSecondsPerStep = 0.8;

    /// <summary>CI's configuration (tiny fixture model, 64 training pairs, 2 epochs): the 9 lessons took 7.4 min in the
    /// real kernel on 2 cores shared with other builds (load average near 38), kernel starts and package loads
    /// included (measured for issue 16); a quiet machine is faster.</summary>
    public const double SmallModelLessonsMinutes = 8;

    [GeneratedRegex("""Knob\("(?<name>FT_\w+)",\s*"(?<fallback>[^"]*)"\)""")]
    private static partial Regex KnobPattern();

    /// <summary>The lines to print (no trailing newline).</summary>
    public static IReadOnlyList<string> Describe(KernelTool tool, IReadOnlyList<string> notebooks, Func<string, string?> environment)
    {
        // The knobs cells' own test (setup.dib's): an NVIDIA device file and FT_DEVICE not cpu picks the GPU profile.
        var gpu = OperatingSystem.IsLinux() && (File.Exists("/dev/nvidiactl") || File.Exists("/dev/nvidia0"));
        var gpuProfile = gpu && environment("FT_DEVICE") is not "cpu";
        var defaults = LessonDefaults(notebooks, gpuProfile);
        string Value(string name, string fallback) => environment(name) is { Length: > 0 } v ? v : defaults.GetValueOrDefault(name, fallback);
        string Source(string name) => environment(name) is { Length: > 0 } ? $"{name} is set" : gpuProfile ? "the lessons' default" : "the lessons' CPU default";

        var model = Value("FT_MODEL", "bert-base-uncased");
        var dataDir = Value("FT_DATA_DIR", "");
        var task = Value("FT_TASK", "mrpc");
        var device = Value("FT_DEVICE", "auto");
        var batch = Math.Max(1, Int("FT_BATCH_SIZE", 8));
        var epochs = Double("FT_EPOCHS", 3);
        var maxTrain = Int("FT_MAX_TRAIN_SAMPLES", 0);
        var maxEval = Int("FT_MAX_EVAL_SAMPLES", 0);
        var maxSteps = Int("FT_MAX_STEPS", -1);
        int Int(string name, int fallback) => int.TryParse(Value(name, ""), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;
        double Double(string name, double fallback) => double.TryParse(Value(name, ""), NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : fallback;

        var onGpu = device == "cuda" || device == "auto" && gpu;
        var lines = new List<string>
        {
            $"Kernel: .NET Interactive {tool.Version} ({KernelTool.PackageId}, pinned in {Relative(tool.ManifestPath)}), the kernel VS Code runs; " +
            "one per notebook, started as VS Code starts it: dotnet dotnet-interactive [vscode] stdio --working-dir <the notebook's folder>",
            $"Model: {model} ({Source("FT_MODEL")})",
            $"Data: {task.ToUpperInvariant()} " + (dataDir.Length > 0 ? $"from {dataDir}" : "from the Hugging Face Hub") + $" ({Source("FT_DATA_DIR")}); " +
            (maxTrain > 0 ? $"the first {maxTrain} training pairs" : "every training pair") + ", " +
            (maxEval > 0 ? $"the first {maxEval} validation pairs" : "every validation pair"),
            $"Profile: {(onGpu ? "GPU (CUDA)" : "CPU")} (FT_DEVICE={device}{(device == "auto" ? gpu ? ", an NVIDIA GPU is visible" : ", no NVIDIA GPU visible" : "")}), " +
            $"batch {batch}, {(maxSteps > 0 ? $"{maxSteps} steps" : $"{epochs.ToString(CultureInfo.InvariantCulture)} epochs")} per training run",
        };

        var hidden = LocalHiddenSize(model);
        var runs = notebooks.Sum(n => TrainingRuns(n));
        int Steps(int pairs) => maxSteps > 0 ? maxSteps
            : (int)Math.Ceiling(Math.Ceiling((pairs > 0 ? Math.Min(pairs, MrpcTrainPairs) : MrpcTrainPairs) / (double)batch) * epochs);
        var stepsPerRun = Steps(maxTrain);
        // Each notebook's own training-pairs default (the CPU profile trains 07 and 08 on a subset), unless FT_* sets it.
        var totalSteps = notebooks.Sum(n => TrainingRuns(n) * Steps(environment("FT_MAX_TRAIN_SAMPLES") is { Length: > 0 } ? maxTrain
            : int.TryParse(LessonDefaults([n], gpuProfile).GetValueOrDefault("FT_MAX_TRAIN_SAMPLES", "0"), out var own) ? own : 0));
        if (hidden is > 0 and <= 256 && !onGpu)
            lines.Add($"Roughly: a few minutes (a small model, hidden size {hidden}: the 9 lessons with it took at most " +
                      $"{SmallModelLessonsMinutes:F0} min on 2 busy cores).");
        else if (runs == 0)
            lines.Add("Roughly: minutes (no training run in these notebooks; the kernel and its packages load once per notebook).");
        else if (onGpu)
            lines.Add($"Roughly: {runs} training runs of about {stepsPerRun:N0} steps each; on a GPU this is minutes per run (not measured here).");
        else if (model.EndsWith("all-MiniLM-L6-v2", StringComparison.Ordinal))
        {
            var minutes = totalSteps * MiniLmCpuSecondsPerStep / 60;
            lines.Add($"Roughly: {runs} training runs, {totalSteps:N0} steps in all; at about {MiniLmCpuSecondsPerStep} s per all-MiniLM-L6-v2 " +
                      $"step on 2 CPU cores that is {minutes:F0} minutes of training, plus the kernels' starts (notebooks/RESULTS.md has a measured run).");
        }
        else
        {
            var hours = runs * stepsPerRun * BertBaseCpuSecondsPerStep / 3600;
            lines.Add($"Roughly: {runs} training runs of about {stepsPerRun:N0} steps each; at about {BertBaseCpuSecondsPerStep} s per " +
                      $"bert-base step on 2 CPU cores (bench/LATEST.md) that is {(hours < 1 ? $"{hours * 60:F0} minutes" : $"{hours:F1} hours")}" +
                      " of training. For a quicker run: FT_MAX_TRAIN_SAMPLES, FT_MAX_STEPS or FT_EPOCHS (notebooks/README.md).");
        }
        return lines;
    }

    /// <summary>Each FT_* knob's fallback in the lessons' knobs cells (<c>Knob("FT_MODEL", "bert-base-uncased")</c>). A knob
    /// with a GPU and a CPU default is written <c>gpuMachine ? Knob("FT_X", gpu) : Knob("FT_X", cpu)</c>: the first
    /// fallback is the GPU profile's, the last the CPU profile's. The first notebook that names a knob decides.</summary>
    static Dictionary<string, string> LessonDefaults(IEnumerable<string> notebooks, bool gpuProfile)
    {
        var defaults = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in notebooks)
        {
            try
            {
                var own = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (Match m in KnobPattern().Matches(File.ReadAllText(path).Replace("\\\"", "\"")))
                    if (!gpuProfile || !own.ContainsKey(m.Groups["name"].Value))
                        own[m.Groups["name"].Value] = m.Groups["fallback"].Value;
                foreach (var (name, fallback) in own) defaults.TryAdd(name, fallback);
            }
            catch (IOException) { }
        }
        return defaults;
    }

    /// <summary>How many times a notebook's code starts training (each <c>.Train()</c> call site; a loop counts once).</summary>
    static int TrainingRuns(string path)
    {
        try { return Regex.Matches(File.ReadAllText(path), @"\.Train\(\)").Count; }
        catch (IOException) { return 0; }
    }

    /// <summary>hidden_size from a local model folder's config.json (relative paths as the lessons take them: from
    /// notebooks/), or null for a Hub id.</summary>
    static int? LocalHiddenSize(string model)
    {
        foreach (var folder in new[] { model, Path.Combine("notebooks", model) })
        {
            var config = Path.Combine(folder, "config.json");
            if (!File.Exists(config)) continue;
            try { return (int?)JsonNode.Parse(File.ReadAllText(config))?["hidden_size"]; }
            catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or FormatException) { return null; }
        }
        return null;
    }

    static string Relative(string path)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, path);
        return relative.StartsWith("..", StringComparison.Ordinal) ? path : relative;
    }
}
