using System.Text.Json;

namespace FineTuning.Training;

/// <summary>
/// HF <c>TrainerState</c>: where training stands. The Trainer updates it as it goes; callbacks read it; every
/// checkpoint stores it as <c>trainer_state.json</c> (HF's field names, <c>json.dumps(indent=2, sort_keys=True)</c>),
/// which is also what resuming reads back.
/// </summary>
public sealed class TrainerState
{
    /// <summary>Fractional epoch of the last optimizer step (1.5 = half-way through the second epoch); null before
    /// training.</summary>
    public double? Epoch { get; set; }

    /// <summary>Optimizer steps done (one per <c>GradientAccumulationSteps</c> batches).</summary>
    public int GlobalStep { get; set; }

    /// <summary>Optimizer steps this training run will take in total.</summary>
    public int MaxSteps { get; set; }

    /// <summary>Log every N optimizer steps (LoggingSteps resolved against MaxSteps when it was a ratio).</summary>
    public int LoggingSteps { get; set; } = 500;

    /// <summary>Evaluate every N optimizer steps (resolved as <see cref="LoggingSteps"/>).</summary>
    public int EvalSteps { get; set; } = 500;

    /// <summary>Save every N optimizer steps (resolved as <see cref="LoggingSteps"/>).</summary>
    public int SaveSteps { get; set; } = 500;

    /// <summary>Examples per forward pass on one device.</summary>
    public int? TrainBatchSize { get; set; }

    /// <summary>Epochs this run covers (whole epochs, rounded up).</summary>
    public int NumTrainEpochs { get; set; }

    /// <summary>Tokens seen (HF counts them only when asked; kept for the file format).</summary>
    public long NumInputTokensSeen { get; set; }

    /// <summary>Floating-point operations so far, HF's estimate: 6 × examples' tokens × parameters (embeddings
    /// excluded).</summary>
    public double TotalFlos { get; set; }

    /// <summary>Every log entry in order: training logs (loss, grad_norm, learning_rate, epoch, step), evaluation logs
    /// (eval_*, epoch, step) and the final summary (train_runtime, ..., train_loss, epoch, step).</summary>
    public List<IReadOnlyDictionary<string, double>> LogHistory { get; set; } = [];

    /// <summary>Best value of <see cref="TrainingArguments.MetricForBestModel"/> so far; null until the first
    /// evaluation with that metric.</summary>
    public double? BestMetric { get; set; }

    /// <summary>The step at which <see cref="BestMetric"/> was reached.</summary>
    public int? BestGlobalStep { get; set; }

    /// <summary>The checkpoint folder of the best model (<c>OutputDir/checkpoint-N</c>), once one was saved.</summary>
    public string? BestModelCheckpoint { get; set; }

    /// <summary>Always true here (one process).</summary>
    public bool IsLocalProcessZero { get; set; } = true;

    /// <summary>Always true here (one process).</summary>
    public bool IsWorldProcessZero { get; set; } = true;

    /// <summary>Always false here (no hyper-parameter search).</summary>
    public bool IsHyperParamSearch { get; set; }

    /// <summary>Flags of <see cref="TrainerControl"/> at save time, HF's <c>stateful_callbacks</c> entry.</summary>
    internal TrainerControl? SavedControl { get; set; }

    /// <summary>The state as <c>trainer_state.json</c> text (trailing newline, as HF writes it).</summary>
    public string ToJson()
    {
        var members = new List<(string Key, Action<PythonJson.Writer> Write)>
        {
            ("best_global_step", w => w.Int(BestGlobalStep)),
            ("best_metric", w => w.Double(BestMetric)),
            ("best_model_checkpoint", w => w.String(BestModelCheckpoint)),
            ("epoch", w => w.Double(Epoch)),
            ("eval_steps", w => w.Int(EvalSteps)),
            ("global_step", w => w.Int(GlobalStep)),
            ("is_hyper_param_search", w => w.Bool(IsHyperParamSearch)),
            ("is_local_process_zero", w => w.Bool(IsLocalProcessZero)),
            ("is_world_process_zero", w => w.Bool(IsWorldProcessZero)),
            ("log_history", w => w.Array(LogHistory.Select(entry => (Action<PythonJson.Writer>)(w2 => WriteEntry(w2, entry))))),
            ("logging_steps", w => w.Int(LoggingSteps)),
            ("max_steps", w => w.Int(MaxSteps)),
            ("num_input_tokens_seen", w => w.Long(NumInputTokensSeen)),
            ("num_train_epochs", w => w.Int(NumTrainEpochs)),
            ("save_steps", w => w.Int(SaveSteps)),
            ("stateful_callbacks", w => WriteStatefulCallbacks(w)),
            ("total_flos", w => w.Double(TotalFlos)),
            ("train_batch_size", w => w.Int(TrainBatchSize)),
            ("trial_name", w => w.String(null)),
            ("trial_params", w => w.String(null)),
        };
        var writer = new PythonJson.Writer();
        writer.Object(members);
        return writer.ToString() + "\n";
    }

    static void WriteEntry(PythonJson.Writer w, IReadOnlyDictionary<string, double> entry) =>
        w.Object(entry.OrderBy(kv => kv.Key, PythonJson.CodePointOrder)
            .Select(kv => (kv.Key, (Action<PythonJson.Writer>)(w2 =>
            {
                // Python keeps ints as ints: the step counter is one.
                if (IsIntegerKey(kv.Key)) w2.Long((long)kv.Value);
                else w2.Double(kv.Value);
            }))));

    static bool IsIntegerKey(string key) => key == "step";

    void WriteStatefulCallbacks(PythonJson.Writer w)
    {
        var c = SavedControl ?? new TrainerControl();
        w.Object([("TrainerControl", w2 => w2.Object([
            ("args", w3 => w3.Object([
                ("should_epoch_stop", w4 => w4.Bool(c.ShouldEpochStop)),
                ("should_evaluate", w4 => w4.Bool(c.ShouldEvaluate)),
                ("should_log", w4 => w4.Bool(c.ShouldLog)),
                ("should_save", w4 => w4.Bool(c.ShouldSave)),
                ("should_training_stop", w4 => w4.Bool(c.ShouldTrainingStop)),
            ])),
            ("attributes", w3 => w3.Object([])),
        ]))]);
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/> atomically (temp file, then rename).</summary>
    public void SaveToJson(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Reads a <c>trainer_state.json</c> (ours or HF's; unknown keys are ignored).</summary>
    /// <exception cref="CheckpointException">The file is missing, not JSON, or a field has the wrong type (the
    /// message names the field).</exception>
    public static TrainerState LoadFromJson(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new CheckpointException(path, "trainer state file not found");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (JsonException e)
        {
            throw new CheckpointException(path, $"not valid JSON {PythonJson.ParseError(e)}", null, e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new CheckpointException(path, "trainer state must be a JSON object");
            if (PythonJson.FindUnreadableString(root) is { } unreadable)
                throw new CheckpointException(path, PythonJson.UnreadableStringMessage(unreadable));
            var state = new TrainerState();
            foreach (var p in root.EnumerateObject())
            {
                var v = p.Value;
                switch (p.Name)
                {
                    // Every value is checked for its range too: a negative global_step used to be resumed as is
                    // (more steps than max_steps, folders named checkpoint--2).
                    case "epoch": state.Epoch = v.ValueKind == JsonValueKind.Null ? null : NonNegative(path, p); break;
                    case "global_step": state.GlobalStep = Int(path, p, 0); break;
                    case "max_steps": state.MaxSteps = Int(path, p, 0); break;
                    case "logging_steps": state.LoggingSteps = Int(path, p, 0); break;
                    case "eval_steps": state.EvalSteps = Int(path, p, 0); break;
                    case "save_steps": state.SaveSteps = Int(path, p, 0); break;
                    case "train_batch_size": state.TrainBatchSize = v.ValueKind == JsonValueKind.Null ? null : Int(path, p, 1); break;
                    case "num_train_epochs": state.NumTrainEpochs = Int(path, p, 0); break;
                    case "num_input_tokens_seen":
                        state.NumInputTokensSeen = v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var seen) && seen >= 0 ? seen
                            : throw TypeError(path, p, "a non-negative integer");
                        break;
                    case "total_flos": state.TotalFlos = NonNegative(path, p); break;
                    case "best_metric":
                        state.BestMetric = NullableNumber(path, p) is { } best && !double.IsFinite(best) ? throw TypeError(path, p, "a finite number or null") : NullableNumber(path, p);
                        break;
                    case "best_global_step": state.BestGlobalStep = v.ValueKind == JsonValueKind.Null ? null : Int(path, p, 0); break;
                    case "best_model_checkpoint":
                        state.BestModelCheckpoint = v.ValueKind switch
                        {
                            JsonValueKind.Null => null,
                            JsonValueKind.String => v.GetString(),
                            _ => throw TypeError(path, p, "a string or null"),
                        };
                        break;
                    case "is_hyper_param_search": state.IsHyperParamSearch = Bool(path, p); break;
                    case "log_history": state.LogHistory = LogHistoryFrom(path, p); break;
                }
            }
            // Fields that must agree with each other.
            if (state.BestGlobalStep is { } bestStep && bestStep > state.GlobalStep)
                throw new CheckpointException(path, $"field 'best_global_step': {bestStep} is after global_step {state.GlobalStep}", "best_global_step");
            for (int i = 0; i < state.LogHistory.Count; i++)
                if (state.LogHistory[i].TryGetValue("step", out var step) && !(step >= 0 && step <= state.GlobalStep && step == Math.Floor(step)))
                    throw new CheckpointException(path, $"field 'log_history[{i}]': step {step} is not a step of this run (0..global_step {state.GlobalStep})", "log_history");
            return state;
        }
    }

    static List<IReadOnlyDictionary<string, double>> LogHistoryFrom(string path, JsonProperty p)
    {
        if (p.Value.ValueKind != JsonValueKind.Array) throw TypeError(path, p, "a list of objects");
        var result = new List<IReadOnlyDictionary<string, double>>();
        int i = 0;
        foreach (var entry in p.Value.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(path, $"field 'log_history[{i}]': expected an object, got {PythonJson.Describe(entry)}", "log_history");
            var dict = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var kv in entry.EnumerateObject())
            {
                // HF writes numbers only; a string value (e.g. a metric someone logged as text) is skipped.
                if (kv.Value.ValueKind == JsonValueKind.Number) dict[kv.Name] = kv.Value.GetDouble();
            }
            result.Add(dict);
            i++;
        }
        return result;
    }

    static CheckpointException TypeError(string path, JsonProperty p, string expected) =>
        new(path, $"field '{p.Name}': expected {expected}, got {PythonJson.Describe(p.Value)}", p.Name);

    static double Number(string path, JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : throw TypeError(path, p, "a number");

    static double? NullableNumber(string path, JsonProperty p) =>
        p.Value.ValueKind == JsonValueKind.Null ? null : Number(path, p);

    static int Int(string path, JsonProperty p, int minimum) =>
        p.Value.ValueKind == JsonValueKind.Number && p.Value.TryGetInt32(out var i) && i >= minimum ? i
            : throw TypeError(path, p, minimum == 0 ? "a non-negative integer" : $"an integer >= {minimum}");

    static double NonNegative(string path, JsonProperty p) =>
        Number(path, p) is var x && double.IsFinite(x) && x >= 0 ? x : throw TypeError(path, p, "a finite number >= 0");

    static bool Bool(string path, JsonProperty p) => p.Value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw TypeError(path, p, "true or false"),
    };
}
