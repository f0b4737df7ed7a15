using System.Globalization;
using FineTuning.Data;
using FineTuning.Evaluation;
using FineTuning.Models;
using FineTuning.Models.Bert;
using FineTuning.Tokenizers;
using FineTuning.Training;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.FineTune;

/// <summary>
/// <c>finetune</c>, the run_glue.py of .NET: parses run_glue's command line, prepares the data, fine-tunes, evaluates
/// and predicts with the <see cref="Trainer"/>, and writes HF's output files plus <c>report.html</c>.
/// <see cref="Run(string[], TextWriter, TextWriter?, CancellationToken)"/> is the whole program, callable in-process (the tests do); <c>Program.cs</c> only wires Ctrl+C.
/// </summary>
public static class FineTuneProgram
{
    /// <summary>Exit code of a run stopped by Ctrl+C (128 + SIGINT, as shells report it).</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>Runs <c>finetune</c> with <paramref name="args"/>.</summary>
    /// <param name="args">run_glue's arguments, e.g. <c>--model_name_or_path m --task_name mrpc --do_train --output_dir out</c>.</param>
    /// <param name="output">Logs, metric tables and messages (run_glue logs to stdout).</param>
    /// <param name="error">Errors and the progress bars (tqdm's stream); default <paramref name="output"/>.</param>
    /// <param name="interrupt">Cancelled by Ctrl+C: training saves a checkpoint at the end of the step and stops.</param>
    /// <returns>0 on success, 1 for an error, 2 for a bad command line (argparse's code), 130 when interrupted.</returns>
    public static int Run(string[] args, TextWriter output, TextWriter? error = null, CancellationToken interrupt = default) =>
        Run(args, output, error, interrupt, []);

    /// <summary><see cref="Run(string[], TextWriter, TextWriter?, CancellationToken)"/> with extra Trainer callbacks
    /// (run before the program's own; the tests use one to press "Ctrl+C" at a given step).</summary>
    internal static int Run(string[] args, TextWriter output, TextWriter? error, CancellationToken interrupt,
        IReadOnlyList<TrainerCallback> extraCallbacks)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        error ??= output;
        ParsedCommandLine parsed;
        try
        {
            parsed = CommandLine.Parse(args);
        }
        catch (UsageException e)
        {
            return UsageError(error, e.Message);
        }
        if (parsed.ShowHelp)
        {
            output.Write(CommandLine.Help());
            output.Flush();
            return 0;
        }

        var (logWriter, logLevel) = (Logging.Writer, Logging.Verbosity);
        Logging.Writer = output;
        // run_glue sets transformers' verbosity to info unless --log_level says otherwise.
        Logging.Verbosity = parsed.Training.LogLevel switch
        {
            "debug" => LogLevel.Debug,
            "warning" => LogLevel.Warning,
            "error" or "critical" => LogLevel.Error,
            _ => LogLevel.Info,
        };
        try
        {
            return new FineTuneRun(parsed, output, error, interrupt, extraCallbacks).Execute();
        }
        catch (UsageException e)
        {
            return UsageError(error, e.Message);
        }
        catch (Exception e)
        {
            output.Flush();
            error.WriteLine("error: " + Describe(e));
            return 1;
        }
        finally
        {
            output.Flush();
            error.Flush();
            (Logging.Writer, Logging.Verbosity) = (logWriter, logLevel);
        }
    }

    /// <summary>The library's advice in command-line terms: its messages name API parameters (for notebooks), finetune's
    /// user needs the flag.</summary>
    internal static string InFlags(string message) => System.Text.RegularExpressions.Regex.Replace(
        message.Replace("You may consider adding `ignoreMismatchedSizes: true` in the model `FromPretrained` method.",
                        "You may consider adding --ignore_mismatched_sizes to the command line.", StringComparison.Ordinal),
        @"Remove it before collating \(e\.g\. dataset\.RemoveColumns\(""[^""]*""\)\), as the course does with sentence1, sentence2 and idx\.",
        "Leave --remove_unused_columns on (the default: columns the model does not take are dropped), or remove the column from your data file.");

    static int UsageError(TextWriter error, string message)
    {
        error.WriteLine(CommandLine.Usage());
        error.WriteLine($"{CommandLine.ProgramName}: error: {message}");
        error.Flush();
        return 2;
    }

    /// <summary>The message of an error the user can act on; with the exception type and stack for anything unexpected.</summary>
    static string Describe(Exception e) => e switch
    {
        ArgumentException a => InFlags(CommandLine.Message(a)),
        FineTuneException or DatasetFormatException or CheckpointException or TrainingException or IOException
            or NotSupportedException or InvalidOperationException or KeyNotFoundException => InFlags(e.Message),
        _ => $"{e.GetType().FullName}: {e.Message}\n{e.StackTrace}",
    };
}

/// <summary>One run: run_glue.py's main() in order — check, load data, load model, tokenize, train, evaluate, predict.</summary>
internal sealed class FineTuneRun(ParsedCommandLine parsed, TextWriter output, TextWriter error, CancellationToken interrupt,
    IReadOnlyList<TrainerCallback> extraCallbacks)
{
    readonly FineTuneArguments a = parsed.Data;
    TrainingArguments t = parsed.Training;
    readonly List<(string Split, IReadOnlyDictionary<string, double> Metrics)> results = [];
    EvalPrediction? lastEvaluation;

    public int Execute()
    {
        CheckArguments();
        var lastCheckpoint = DetectLastCheckpoint();
        Logging.Info($"Training/evaluation parameters: {Summary()}");

        // run_glue's set_seed(training_args.seed) before the model is built: the new classifier head is seeded.
        manual_seed(t.Seed);
        var data = RunData.Load(a, t.DoTrain, t.DoEval, t.DoPredict);
        // Room for the special tokens and one token of text: [CLS] a [SEP] (3), [CLS] a [SEP] b [SEP] with longest_first (4).
        int minLength = data.TextColumns.Count > 1 ? 4 : 3;
        if (a.MaxSeqLength < minLength)
            throw new UsageException($"argument --max_seq_length: must be at least {minLength} for "
                + (data.TextColumns.Count > 1 ? "sentence pairs ([CLS], [SEP], [SEP] and one token of text)" : "single sentences ([CLS], [SEP] and one token of text)")
                + $", got {a.MaxSeqLength}");
        var modelPath = a.ModelNameOrPath!;
        var tokenizer = LoadFromModelPath(a.TokenizerName ?? modelPath, a.TokenizerName is null ? "model_name_or_path" : "tokenizer_name",
            () => AutoTokenizer.FromPretrained(a.TokenizerName ?? modelPath));
        var config = LoadFromModelPath(modelPath, "model_name_or_path", () => AutoConfig.FromPretrained(modelPath));
        data.UseModelLabels(config.Id2Label, config.ProblemType);
        var (id2label, labelToId) = LabelMapping(data, config);
        Logging.Info(data.IsRegression
            ? $"Task: regression on '{data.LabelColumn}'; text column(s): {string.Join(", ", data.TextColumns)}"
            : $"Task: classification into {id2label!.Count} labels ({string.Join(", ", id2label.OrderBy(p => p.Key).Select(p => p.Value))}); "
              + $"text column(s): {string.Join(", ", data.TextColumns)}");

        using var model = LoadFromModelPath(modelPath, "model_name_or_path", () => AutoModelForSequenceClassification.FromPretrained(
            modelPath, numLabels: data.IsRegression ? 1 : null, id2label: id2label,
            problemType: data.IsRegression ? "regression" : "single_label_classification", ignoreMismatchedSizes: a.IgnoreMismatchedSizes));

        try
        {
            Trainer.CheckVocabularyFits(model, tokenizer); // here, before tokenizing: a vocab.txt bigger than vocab_size
        }
        catch (ArgumentException e)
        {
            throw new FineTuneException($"--{(a.TokenizerName is null ? "model_name_or_path" : "tokenizer_name")} {a.TokenizerName ?? modelPath}: "
                + CommandLine.Message(e).Replace("Use the tokenizer that was saved with the model (the same folder or Hub id)",
                    "Use the tokenizer that was saved with the model (leave out --tokenizer_name, or give the model's folder or Hub id)"), e);
        }
        int maxSeqLength = MaxSeqLength(tokenizer, config);
        Dataset? Prepare(Split? split, int? limit) => split is null ? null : Tokenize(data, split, labelToId, tokenizer, maxSeqLength, limit);
        var train = Prepare(data.Train, a.MaxTrainSamples);
        var eval = Prepare(data.Eval, a.MaxEvalSamples);
        var evalMismatched = Prepare(data.EvalMismatched, a.MaxEvalSamples);
        var test = Prepare(data.Test, a.MaxPredictSamples);
        var testMismatched = Prepare(data.TestMismatched, a.MaxPredictSamples);
        if (tokenizer.TruncatedPairs > 0)
            Logging.Info($"{tokenizer.TruncatedPairs:N0} sentence pairs were longer than --max_seq_length {maxSeqLength} and were truncated (longest_first).");
        if (train is not null) LogSamples(train);
        if (interrupt.IsCancellationRequested) return Interrupted("before training started: nothing was saved.");

        var interrupter = new InterruptCallback(interrupt);
        var steps = new StepRecorder();   // every step's loss and learning rate, for the report (not the log history)
        var callbacks = new List<TrainerCallback>(extraCallbacks);
        if (!t.DisableTqdm) callbacks.Add(new ProgressCallback(error));
        callbacks.Add(new EvalTableCallback(output));
        callbacks.Add(interrupter);
        callbacks.Add(steps);
        var trainer = new Trainer(model, t, train, eval, processingClass: tokenizer,
            computeMetrics: ComputeMetrics(data), callbacks: callbacks);
        steps.Trainer = trainer;

        if (t.DoTrain)
        {
            if (trainer.Device.type == TorchSharp.DeviceType.CPU) trainer.AddCallback(CpuTimeEstimateFor(config, train!, eval));
            var checkpoint = t.ResumeFromCheckpoint is { } r ? ResolveCheckpoint(r) : lastCheckpoint;
            var result = trainer.Train(checkpoint);
            if (interrupter.StoppedAtStep is { } step)
                return Interrupted($"stopped after step {step} of {trainer.State.MaxSteps}; the checkpoint is "
                    + $"{TrainerCheckpoint.GetLastCheckpoint(t.OutputDir)}.\nTo continue, run the same command again (it resumes from the last "
                    + $"checkpoint in {t.OutputDir}), or add --resume_from_checkpoint {TrainerCheckpoint.GetLastCheckpoint(t.OutputDir)}.");
            var metrics = new Dictionary<string, double>(result.Metrics) { ["train_samples"] = train!.Count };
            trainer.SaveModel();   // config.json, model.safetensors, the tokenizer: a folder FromPretrained / from_pretrained loads
            output.Write(MetricsFiles.LogMetrics("train", metrics));
            MetricsFiles.SaveMetrics(t.OutputDir, "train", metrics);
            trainer.State.SaveToJson(Path.Combine(t.OutputDir, TrainerCheckpoint.TrainerStateName));
            results.Add(("train", metrics));
        }
        if (interrupt.IsCancellationRequested) return Interrupted($"after training: the model is saved in {t.OutputDir}; evaluation and prediction were skipped.");

        if (t.DoEval)
        {
            Logging.Info("*** Evaluate ***");
            var combined = new Dictionary<string, double>();
            foreach (var (dataset, task) in new[] { (eval, data.TaskName), (evalMismatched, "mnli-mm") }.Where(x => x.Item1 is not null))
            {
                var metrics = new Dictionary<string, double>(trainer.Evaluate(dataset)) { ["eval_samples"] = dataset!.Count };
                if (task == "mnli-mm") metrics = metrics.ToDictionary(m => m.Key + "_mm", m => m.Value);
                foreach (var (k, v) in metrics) combined[k] = v;
                output.Write(MetricsFiles.LogMetrics("eval", metrics));
                MetricsFiles.SaveMetrics(t.OutputDir, "eval", data.TaskName == "mnli" ? combined : metrics);
            }
            results.Add(("eval", combined));
        }

        if (t.DoPredict)
        {
            Logging.Info("*** Predict ***");
            foreach (var (dataset, task) in new[] { (test, data.TaskName), (testMismatched, "mnli-mm") }.Where(x => x.Item1 is not null))
                Predict(trainer, model.Config, dataset!, task, data.IsRegression);
        }

        if (t.DoTrain || t.DoEval)
            WriteReport(trainer, steps.Steps, data, model.Config, new[] { ("train", train), ("validation", eval), ("validation_mismatched", evalMismatched),
                ("test", test), ("test_mismatched", testMismatched) }.Where(x => x.Item2 is not null).Select(x => (x.Item1, x.Item2!.Count)));
        Logging.Info($"Done: the results are in {Path.GetFullPath(t.OutputDir)}");
        return 0;
    }

    // ---- checks --------------------------------------------------------------------------------------------------

    void CheckArguments()
    {
        // TrainingArguments.__post_init__: an evaluation strategy implies do_eval.
        if (t.EvalStrategy != IntervalStrategy.No && !t.DoEval) t = t with { DoEval = true };
        if (!t.DoTrain && !t.DoEval && !t.DoPredict)
            throw new UsageException("nothing to do: add --do_train, --do_eval and/or --do_predict");
        if (t.OutputDir is "None" or "none" or "null")
            throw new UsageException($"argument --output_dir: '{t.OutputDir}' is Python's None, not a folder; give the folder to write the model, "
                + "checkpoints and results to (e.g. --output_dir runs/mrpc)");
        if (a.MaxSeqLength < 1) throw new UsageException($"argument --max_seq_length: must be at least 1, got {a.MaxSeqLength}");
        foreach (var (name, value) in new[] { ("max_train_samples", a.MaxTrainSamples), ("max_eval_samples", a.MaxEvalSamples), ("max_predict_samples", a.MaxPredictSamples) })
            if (value is < 1) throw new UsageException($"argument --{name}: must be at least 1, got {value}");
        try
        {
            t.Validate();
        }
        catch (ArgumentException e)
        {
            throw new UsageException(CommandLine.Message(e));
        }
    }

    /// <summary>run_glue's output-folder rule: training into a folder that is not empty needs --overwrite_output_dir,
    /// unless it holds checkpoints, which training then resumes from.</summary>
    string? DetectLastCheckpoint()
    {
        if (!t.DoTrain || t.OverwriteOutputDir || !Directory.Exists(t.OutputDir)) return null;
        var last = TrainerCheckpoint.GetLastCheckpoint(t.OutputDir);
        // The lock file an earlier Trainer left (it stays by design) does not make the folder "not empty": after a final
        // save that failed (it leaves nothing), the same command must run again.
        if (last is null && Directory.EnumerateFileSystemEntries(t.OutputDir).Any(e => Path.GetFileName(e) != OutputDirLock.FileName))
            throw new FineTuneException($"Output directory ({t.OutputDir}) already exists and is not empty. Use --overwrite_output_dir to overcome.");
        if (last is not null && t.ResumeFromCheckpoint is null)
            Logging.Info($"Checkpoint detected, resuming training at {last}. To avoid this behavior, change the `--output_dir` or add "
                + "`--overwrite_output_dir` to train from scratch.");
        return last;
    }

    string ResolveCheckpoint(string value)
    {
        var checkpoints = TrainerCheckpoint.Sorted(t.OutputDir);
        // HF's Trainer.train(resume_from_checkpoint=True): the last checkpoint of output_dir.
        if (value.ToLowerInvariant() is "true" or "yes" or "1")
            return checkpoints.LastOrDefault() ?? throw new FineTuneException($"--resume_from_checkpoint {value}: no checkpoint-N folder in {t.OutputDir}");
        if (Directory.Exists(value)) return value;
        throw new FineTuneException($"--resume_from_checkpoint {value}: no such folder ({Path.GetFullPath(value)}); "
            + (checkpoints.Count > 0 ? $"the checkpoints in {t.OutputDir} are: {string.Join(", ", checkpoints)}" : $"{t.OutputDir} holds no checkpoint"));
    }

    /// <summary>Loads from --model_name_or_path; when that is not a folder here, says whether it was read as a local path
    /// or a Hub id, and what to do offline.</summary>
    static T LoadFromModelPath<T>(string path, string option, Func<T> load)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (!Directory.Exists(path) && e is not FineTuneException)
        {
            throw new FineTuneException(ModelNotFound(path, option, e), e);
        }
    }

    internal static string ModelNotFound(string path, string option, Exception e)
    {
        var full = Path.GetFullPath(path);
        bool localPath = Path.IsPathRooted(path) || path.StartsWith('.') || path.StartsWith('~') || path.Contains('\\')
            || path.Count(c => c == '/') > 1 || path.EndsWith('/');
        if (localPath)
            return $"--{option} {path}: no such folder ({full}). Give the folder that holds the model's config.json, model.safetensors and vocab.txt.";
        bool offline = Environment.GetEnvironmentVariable("HF_HUB_OFFLINE") is { } v && v.ToLowerInvariant() is "1" or "true" or "yes" or "on";
        var name = path.Split('/')[^1];
        return $"--{option} {path}: there is no folder '{path}' here ({full}), so it was read as a Hugging Face Hub model id, and "
            + $"that did not load: {e.Message}"
            + (offline ? "\nHF_HUB_OFFLINE is set: only models already in the local Hub cache can be used." : "")
            + $"\nOn a machine without internet, download the model elsewhere (e.g. `huggingface-cli download {path} --local-dir {name}`), "
            + "copy the folder here and pass its path.";
    }

    // ---- data ----------------------------------------------------------------------------------------------------

    /// <summary>
    /// run_glue's label mapping: a model already fine-tuned with the same label names keeps its own ids (so its head is
    /// reused); otherwise the labels are numbered in <see cref="RunData.LabelList"/> order and written into the
    /// model's config (id2label / label2id), so the saved model knows its class names.
    /// </summary>
    static (IReadOnlyDictionary<int, string>? Id2Label, IReadOnlyDictionary<string, int>? LabelToId) LabelMapping(RunData data, BertConfig config)
    {
        if (data.IsRegression) return (null, null);
        var labels = data.LabelList;
        if (labels.Count == 0) throw new FineTuneException("no labels: the data has no label column and the model is not a fine-tuned classifier");
        bool modelHasNames = !config.Id2Label.All(p => p.Value == $"LABEL_{p.Key}");
        if (modelHasNames)
        {
            var modelIds = config.Id2Label.GroupBy(p => p.Value.ToLowerInvariant()).ToDictionary(g => g.Key, g => g.First().Key);
            if (modelIds.Count == labels.Count && labels.All(l => modelIds.ContainsKey(l.ToLowerInvariant())))
                return (config.Id2Label, labels.ToDictionary(l => l, l => modelIds[l.ToLowerInvariant()], StringComparer.Ordinal));
            Logging.Warning("Your model seems to have been trained with labels, but they don't match the dataset: "
                + $"model labels: {string.Join(", ", config.Id2Label.Values.Order(StringComparer.Ordinal))}, dataset labels: "
                + $"{string.Join(", ", labels.Order(StringComparer.Ordinal))}.\nIgnoring the model labels as a result.");
        }
        return (labels.Select((l, i) => (l, i)).ToDictionary(x => x.i, x => x.l),
                labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i, StringComparer.Ordinal));
    }

    int MaxSeqLength(BertTokenizer tokenizer, BertConfig config)
    {
        int max = a.MaxSeqLength;
        if (tokenizer.ModelMaxLength is { } limit && max > limit)
        {
            Logging.Warning($"The max_seq_length passed ({max}) is larger than the maximum length for the model ({limit}). Using max_seq_length={limit}.");
            max = (int)limit;
        }
        if (max > config.MaxPositionEmbeddings)
        {
            Logging.Warning($"The max_seq_length passed ({max}) is larger than the model's max_position_embeddings ({config.MaxPositionEmbeddings}). "
                + $"Using max_seq_length={config.MaxPositionEmbeddings}.");
            max = config.MaxPositionEmbeddings;
        }
        return max;
    }

    /// <summary>run_glue's preprocess_function: the label as an id (or score), then tokenizer(text[, text_pair],
    /// padding, max_length, truncation=True); the first <paramref name="limit"/> examples only when set.</summary>
    Dataset Tokenize(RunData data, Split split, IReadOnlyDictionary<string, int>? labelToId, BertTokenizer tokenizer, int maxLength, int? limit)
    {
        var d = data.WithLabelIds(split, labelToId);
        if (limit is { } n && n < d.Count) d = d.Select(Enumerable.Range(0, n));
        var columns = data.TextColumns;
        IReadOnlyList<string> Texts(DatasetBatch b, string column)
        {
            var cells = b[column];
            var texts = new string[cells.Count];
            for (int i = 0; i < texts.Length; i++)
                texts[i] = cells[i] switch
                {
                    null => throw new FineTuneException($"the {split.Name} data ({split.Source}), data row {b.Start + i + 1}: column '{column}' is empty (null)"),
                    string s => s,
                    IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                    var o => o.ToString() ?? "",
                };
            return texts;
        }
        return d.Map(b => tokenizer.Call(Texts(b, columns[0]), columns.Count > 1 ? Texts(b, columns[1]) : null, truncation: true,
            maxLength: maxLength, padding: a.PadToMaxLength ? Padding.MaxLength : Padding.None), batched: true);
    }

    void LogSamples(Dataset train)
    {
        // run_glue logs 3 random training samples: what the model will see.
        var random = new Random(t.Seed);
        foreach (var index in Enumerable.Range(0, Math.Min(3, train.Count)).Select(_ => random.Next(train.Count)).Distinct())
            Logging.Info($"Sample {index} of the training set: {train[index]}.");
    }

    /// <summary>run_glue's compute_metrics: the GLUE task's metric (accuracy for your own classes, mse for scores), plus
    /// combined_score, the mean, when there are several; remembers the predictions for the report.</summary>
    Func<EvalPrediction, IReadOnlyDictionary<string, double>> ComputeMetrics(RunData data)
    {
        Func<EvalPrediction, Dictionary<string, double>> metric = data.TaskName is { } task ? GlueMetric.For(task)
            : data.IsRegression ? p => new() { ["mse"] = p.Scores().Zip(p.LabelIds, (s, l) => (s - l) * (s - l)).Average() }
            : p => new() { ["accuracy"] = Metrics.Accuracy(p.ArgMax(), p.Labels()) };
        return p =>
        {
            lastEvaluation = p;
            var result = metric(p);
            if (result.Count > 1) result["combined_score"] = result.Values.Average();
            return result;
        };
    }

    // ---- training, prediction, report ----------------------------------------------------------------------------

    /// <summary>The CPU time estimate, from measured steps (<see cref="CpuTimeEstimate"/>): the batch per step, the
    /// evaluation examples and how many evaluations the plan makes.</summary>
    CpuTimeEstimate CpuTimeEstimateFor(BertConfig config, Dataset train, Dataset? eval)
    {
        int batches = t.DataloaderDropLast ? train.Count / t.PerDeviceTrainBatchSize : (train.Count + t.PerDeviceTrainBatchSize - 1) / t.PerDeviceTrainBatchSize;
        var plan = TrainingPlan.For(t, Math.Max(1, batches), train.Count);
        int evaluations = eval is null ? 0
            : t.EvalStrategy switch
            {
                IntervalStrategy.Epoch => plan.NumTrainEpochs,
                IntervalStrategy.Steps => plan.MaxSteps / Math.Max(1, TrainingArguments.ResolveSteps(t.EffectiveEvalSteps, plan.MaxSteps)),
                _ => 0,
            } + (t.DoEval ? 1 : 0);
        return new CpuTimeEstimate(plan.TotalTrainBatchSize, eval?.Count ?? 0, evaluations, config.HiddenSize);
    }

    void Predict(Trainer trainer, BertConfig config, Dataset dataset, string? task, bool isRegression)
    {
        // run_glue removes the labels: a test set's are unknown (-1) or not to be used.
        var inputs = dataset.Features.ContainsKey("label") ? dataset.RemoveColumns("label") : dataset;
        var predictions = trainer.Predict(inputs, metricKeyPrefix: "predict").Predictions;
        int rows = predictions.GetLength(0), classes = predictions.GetLength(1);
        var lines = new string[rows];
        for (int i = 0; i < rows; i++)
        {
            if (isRegression) { lines[i] = MetricsFiles.Score(predictions[i, 0]); continue; }
            int best = 0;
            for (int c = 1; c < classes; c++) if (predictions[i, c] > predictions[i, best]) best = c;
            lines[i] = config.Id2Label.TryGetValue(best, out var name) ? name : best.ToString(CultureInfo.InvariantCulture);
        }
        Directory.CreateDirectory(t.OutputDir);
        var path = Path.Combine(t.OutputDir, $"predict_results_{task ?? "None"}.txt");
        Logging.Info($"***** Predict results {task ?? "None"} *****");
        AtomicFile.WriteAllText(path, MetricsFiles.PredictResults(lines));
        Logging.Info($"Predictions for {rows} examples written to {path}");
    }

    void WriteReport(Trainer trainer, IReadOnlyList<StepRecord> steps, RunData data, BertConfig config, IEnumerable<(string Split, int Count)> examples)
    {
        var settings = new List<(string, string)>
        {
            ("model", a.ModelNameOrPath!),
            ("data", data.TaskName is { } task ? $"GLUE {task}" + (a.DataDir is { } dir ? $" ({dir})" : "")
                : string.Join(", ", data.All.Select(s => $"{s.Name}: {s.Source}"))),
            ("examples", string.Join(", ", examples.Select(x => $"{x.Split} {x.Count:N0}"))),
            ("text columns", string.Join(", ", data.TextColumns)),
            ("labels", data.IsRegression ? "regression (one score)" : string.Join(", ", config.Id2Label.OrderBy(p => p.Key).Select(p => p.Value))),
            ("max_seq_length", a.MaxSeqLength.ToString(CultureInfo.InvariantCulture) + (a.PadToMaxLength ? " (padded to it)" : " (dynamic padding)")),
            ("device", trainer.Device.type.ToString().ToLowerInvariant()),
        };
        var defaults = new TrainingArguments { OutputDir = t.OutputDir };
        string[] always = ["learning_rate", "num_train_epochs", "per_device_train_batch_size", "seed"];
        foreach (var field in TrainingArguments.CommandLineFields)
            if (always.Contains(field.Name) || (field.Name != "output_dir" && t.CommandLineValue(field.Name) != defaults.CommandLineValue(field.Name)))
                settings.Add((field.Name, t.CommandLineValue(field.Name)));
        var title = (data.TaskName ?? "own data") + " — " + a.ModelNameOrPath;
        var html = RunReport.Html(new ReportData(title, settings, results, trainer.State.LogHistory, lastEvaluation,
            data.IsRegression ? [] : config.Id2Label.OrderBy(p => p.Key).Select(p => p.Value).ToArray()) { Steps = steps });
        Directory.CreateDirectory(t.OutputDir);
        var path = Path.Combine(t.OutputDir, RunReport.FileName);
        AtomicFile.WriteAllText(path, html);
        Logging.Info($"Report: {path}");
    }

    int Interrupted(string what)
    {
        output.WriteLine($"\nInterrupted (Ctrl+C) {what}");
        output.Flush();
        return FineTuneProgram.InterruptedExitCode;
    }

    string Summary()
    {
        var data = a.TaskName is { } task ? $"GLUE {task}" : $"files {string.Join(", ", new[] { a.TrainFile, a.ValidationFile, a.TestFile }.OfType<string>())}";
        var phases = string.Join(", ", new[] { (t.DoTrain, "train"), (t.DoEval, "eval"), (t.DoPredict, "predict") }.Where(x => x.Item1).Select(x => x.Item2));
        return $"model {a.ModelNameOrPath}, {data}, {phases}; output_dir {t.OutputDir}, learning_rate {t.CommandLineValue("learning_rate")}, "
            + $"num_train_epochs {t.CommandLineValue("num_train_epochs")}, max_steps {t.MaxSteps}, per_device_train_batch_size {t.PerDeviceTrainBatchSize}, "
            + $"seed {t.Seed}, max_seq_length {a.MaxSeqLength}, pad_to_max_length {a.PadToMaxLength}";
    }
}
