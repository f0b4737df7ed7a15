using System.Globalization;
using System.Text;
using FineTuning.Training;

namespace FineTuning.FineTune;

/// <summary>
/// Ctrl+C during training: at the end of the step in progress, asks the Trainer to save a checkpoint and stop
/// (<see cref="TrainerControl.ShouldSave"/> + <see cref="TrainerControl.ShouldTrainingStop"/>), so that running the
/// same command again — or with <c>--resume_from_checkpoint</c> — continues from there.
/// </summary>
internal sealed class InterruptCallback(CancellationToken interrupt) : TrainerCallback
{
    /// <summary>The step training stopped at because of the interrupt; null when it was not interrupted.</summary>
    public int? StoppedAtStep { get; private set; }

    public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (!interrupt.IsCancellationRequested || StoppedAtStep is not null) return;
        StoppedAtStep = state.GlobalStep;
        control.ShouldSave = true;
        control.ShouldTrainingStop = true;
    }

    public override void OnEpochEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (StoppedAtStep is null) return;
        // The checkpoint of this step is written; no end-of-epoch evaluation or second save on the way out.
        control.ShouldEvaluate = false;
        control.ShouldSave = false;
    }
}

/// <summary>
/// The console side of a run besides the progress bar: after each evaluation during training, a row of the
/// evaluation table (Epoch, Step, Training Loss, Validation Loss, then the metrics, as HF's notebook table); with
/// <c>--disable_tqdm</c>, the training logs as HF's <c>PrinterCallback</c> prints them.
/// </summary>
/// <remarks>Plain text only: on a terminal, the progress bar's line is blanked first (as before a log message), never with
/// terminal escape codes, which would end up in a redirected output.</remarks>
internal sealed class EvalTableCallback(TextWriter output) : TrainerCallback
{
    bool training;
    bool headerWritten;
    string trainingLoss = "No log";
    List<(string Key, string Title)>? columns;

    public override void OnTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control) => training = true;

    public override void OnTrainEnd(TrainingArguments args, TrainerState state, TrainerControl control) => training = false;

    public override void OnLog(TrainingArguments args, TrainerState state, TrainerControl control, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out var loss)) trainingLoss = Fixed(loss);
        if (args.DisableTqdm && training) output.WriteLine(ProgressCallback.FormatLogs(logs));
    }

    public override void OnEvaluate(TrainingArguments args, TrainerState state, TrainerControl control, IReadOnlyDictionary<string, double> metrics)
    {
        if (!training) return;
        columns ??= metrics.Keys
            .Where(k => k.StartsWith("eval_", StringComparison.Ordinal) && k != "eval_loss" && !k.EndsWith("_runtime", StringComparison.Ordinal)
                        && !k.EndsWith("_per_second", StringComparison.Ordinal) && !k.EndsWith("_samples", StringComparison.Ordinal))
            .Select(k => (k, Title(k["eval_".Length..]))).ToList();
        var cells = new List<(string Title, string Value)>
        {
            ("Epoch", state.Epoch is { } e ? (e == Math.Floor(e) ? ((int)e).ToString(CultureInfo.InvariantCulture) : e.ToString("0.00", CultureInfo.InvariantCulture)) : "-"),
            ("Step", state.GlobalStep.ToString(CultureInfo.InvariantCulture)),
            ("Training Loss", trainingLoss),
            ("Validation Loss", metrics.TryGetValue("eval_loss", out var l) ? Fixed(l) : "-"),
        };
        cells.AddRange(columns.Select(c => (c.Title, metrics.TryGetValue(c.Key, out var v) ? Fixed(v) : "-")));
        var widths = cells.Select(c => Math.Max(c.Title.Length, 10)).ToArray();

        var sb = new StringBuilder();
        if (!headerWritten)
        {
            sb.AppendLine(string.Join(" | ", cells.Select((c, i) => c.Title.PadLeft(widths[i]))));
            sb.AppendLine(string.Join("-|-", widths.Select(w => new string('-', w))));
            headerWritten = true;
        }
        sb.AppendLine(string.Join(" | ", cells.Select((c, i) => c.Value.PadLeft(widths[i]))));
        Logging.ClearProgressLine();   // the progress bar's line (on a terminal) gives way to the table
        output.Write(sb.ToString());
        output.Flush();
    }

    static string Fixed(double v) => PythonRepr.Fixed(v, 6);

    /// <summary>HF's notebook column titles: "combined_score" → "Combined Score", "f1" → "F1".</summary>
    static string Title(string key) => string.Join(" ", key.Split('_').Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
}
