namespace FineTuning.Training;

/// <summary>
/// HF <c>ProgressCallback</c> for a console: a training progress bar, an evaluation bar while evaluating, and each
/// training log printed on its own line as HF prints it (<c>{'loss': 0.6931, 'grad_norm': 2.41, 'learning_rate':
/// 4.8e-05, 'epoch': 0.5}</c>). Plain text only.
/// </summary>
/// <remarks>
/// <para>A bar line reads <c> 30%|######--------------| 37/120 [00:12&lt;00:27, 3.05it/s, loss=0.6931]</c>: the
/// percentage (rounded down), the bar, steps done / total, time elapsed &lt; time left, the rate (average over this
/// run; "s/it" below one step a second) and the last logged training loss. The evaluation bar starts with
/// "Evaluating: " and counts batches. A rate is shown only once it is measured over a real interval (at least 0.1 s;
/// "?it/s" until then): the evaluation bar appears when its first batch is done, so its rate counts the batches after
/// that one, never one batch over the microseconds since the bar appeared.</para>
/// <para>On an interactive console the bar is one line redrawn in place with '\r' (at most every 0.1 s, as tqdm), and
/// the evaluation bar takes its place while evaluating. When the output is redirected (a file, a CI log, a notebook),
/// a new line is written instead each time the bar passes a multiple of <c>redirectedPercentStep</c> percent, plus
/// the first and the last state (each once), so logs stay readable; nothing but text and new lines is written then.
/// While a bar is drawn in place, a <see cref="Logging"/> message first blanks its line (it would otherwise be
/// written after the bar, and the bar's last state would stay on screen twice).</para>
/// <para>Does nothing when <see cref="TrainingArguments.DisableTqdm"/> is set (HF then prints the logs with its
/// <c>PrinterCallback</c> instead). Like HF, it prints logs only during training, and the evaluation bar only when
/// the Trainer passes the number of evaluation batches to <see cref="OnPredictionStep"/>.</para>
/// </remarks>
public sealed class ProgressCallback : TrainerCallback
{
    const int BarWidth = 20;
    static readonly TimeSpan MinRedrawInterval = TimeSpan.FromSeconds(0.1);

    readonly TextWriter writer;
    readonly bool interactive;
    readonly TimeProvider time;
    readonly int percentStep;

    Bar? trainingBar;
    Bar? predictionBar;
    string? lastLoss;
    int lineLength;   // interactive: characters of the bar line now on screen (0 = the cursor is at a fresh line)
    readonly Action clearForLog;   // registered as Logging.ProgressLineClearer while a bar is on screen

    /// <summary>Creates the callback.</summary>
    /// <param name="writer">Where the bars and logs go; default <see cref="Console.Error"/> (where tqdm writes).</param>
    /// <param name="interactive">Whether to redraw one line in place with '\r'. Default (null): true when
    /// <paramref name="writer"/> is <see cref="Console.Error"/> or <see cref="Console.Out"/> and that stream is not
    /// redirected, false for any other writer.</param>
    /// <param name="timeProvider">The clock for elapsed time, rates and redraw throttling; default
    /// <see cref="TimeProvider.System"/>. Tests pass a fake one.</param>
    /// <param name="redirectedPercentStep">With redirected output, write a bar line every this many percent; default
    /// 10, from 1 to 100.</param>
    public ProgressCallback(TextWriter? writer = null, bool? interactive = null, TimeProvider? timeProvider = null,
                            int redirectedPercentStep = 10)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(redirectedPercentStep, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(redirectedPercentStep, 100);
        this.writer = writer ?? Console.Error;
        this.interactive = interactive ?? IsInteractiveConsole(this.writer);
        time = timeProvider ?? TimeProvider.System;
        percentStep = redirectedPercentStep;
        clearForLog = ClearForLog;
    }

    static bool IsInteractiveConsole(TextWriter w) =>
        (ReferenceEquals(w, Console.Error) && !Console.IsErrorRedirected)
        || (ReferenceEquals(w, Console.Out) && !Console.IsOutputRedirected);

    /// <summary>
    /// A log entry as HF's ProgressCallback prints it: Python's <c>str(dict)</c> in the entry's order, without
    /// "total_flos", with "epoch" rounded to 2 decimals (<c>{'loss': 0.6931, 'learning_rate': 5e-05, 'epoch': 0.5}</c>).
    /// </summary>
    public static string FormatLogs(IReadOnlyDictionary<string, double> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        return PythonRepr.Dict(logs
            .Where(kv => kv.Key != "total_flos")
            .Select(kv => kv.Key == "epoch" ? new KeyValuePair<string, double>(kv.Key, PythonRepr.Round(kv.Value, 2)) : kv));
    }

    /// <summary>Starts the training bar at <see cref="TrainerState.GlobalStep"/> of <see cref="TrainerState.MaxSteps"/>.</summary>
    public override void OnTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (args.DisableTqdm) return;
        trainingBar = new Bar("", state.MaxSteps, state.GlobalStep, time.GetTimestamp(), withLoss: true);
        lastLoss = null;
        Show(trainingBar, force: true);
    }

    /// <summary>Moves the training bar to <see cref="TrainerState.GlobalStep"/>.</summary>
    public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (args.DisableTqdm || trainingBar is null) return;
        trainingBar.N = state.GlobalStep;
        Show(trainingBar, force: false);
    }

    /// <summary>Advances the evaluation bar by one batch (starting it at the first batch); nothing when
    /// <paramref name="evalBatchCount"/> is null.</summary>
    public override void OnPredictionStep(TrainingArguments args, TrainerState state, TrainerControl control,
                                          int? evalBatchCount = null)
    {
        if (args.DisableTqdm || evalBatchCount is not { } total) return;
        // The bar appears when the first batch is done: that batch's time was not observed, so the rate is measured
        // from here, over the batches after it.
        if (predictionBar is null) predictionBar = new Bar("Evaluating: ", total, 1, time.GetTimestamp(), withLoss: false);
        else predictionBar.N++;
        Show(predictionBar, force: false);
    }

    /// <summary>Closes the evaluation bar.</summary>
    public override void OnEvaluate(TrainingArguments args, TrainerState state, TrainerControl control,
                                    IReadOnlyDictionary<string, double> metrics)
    {
        if (args.DisableTqdm) return;
        ClosePredictionBar();
    }

    /// <summary>Closes the evaluation bar.</summary>
    public override void OnPredict(TrainingArguments args, TrainerState state, TrainerControl control,
                                   IReadOnlyDictionary<string, double> metrics)
    {
        if (args.DisableTqdm) return;
        ClosePredictionBar();
    }

    /// <summary>During training, prints the log entry (<see cref="FormatLogs"/>) on its own line and remembers its
    /// "loss" for the bar.</summary>
    public override void OnLog(TrainingArguments args, TrainerState state, TrainerControl control,
                               IReadOnlyDictionary<string, double> logs)
    {
        if (args.DisableTqdm || trainingBar is null) return;
        if (logs.TryGetValue("loss", out var loss)) lastLoss = PythonRepr.Float(loss);
        var text = FormatLogs(logs);
        if (interactive)
        {
            ClearLine();
            writer.WriteLine(text);
            if ((predictionBar ?? trainingBar) is { } bar) Show(bar, force: true);
            writer.Flush();
        }
        else
            writer.WriteLine(text);
    }

    /// <summary>Writes the training bar's final state and ends its line.</summary>
    public override void OnTrainEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (args.DisableTqdm || trainingBar is null) return;
        ClosePredictionBar();
        trainingBar.N = state.GlobalStep;
        Close(trainingBar, leave: true);
        trainingBar = null;
    }

    void ClosePredictionBar()
    {
        if (predictionBar is null) return;
        // HF leaves an evaluation bar on screen only when it ran outside training.
        Close(predictionBar, leave: trainingBar is null);
        predictionBar = null;
        if (interactive && trainingBar is not null) Show(trainingBar, force: true);
    }

    void Show(Bar bar, bool force)
    {
        var now = time.GetTimestamp();
        if (interactive)
        {
            if (!force && bar.N < bar.Total && bar.LastDraw is { } last && time.GetElapsedTime(last, now) < MinRedrawInterval)
                return;
            Draw(bar.Render(time, now, lastLoss));
            bar.LastDraw = now;
        }
        else
        {
            var bucket = bar.Percent / percentStep;
            if (force || bucket > bar.LastBucket || (bar.N >= bar.Total && bar.LastWrittenN != bar.N))
            {
                writer.WriteLine(bar.Render(time, now, lastLoss));
                bar.LastBucket = Math.Max(bar.LastBucket, bucket);
                bar.LastWrittenN = bar.N;
            }
        }
    }

    void Close(Bar bar, bool leave)
    {
        var now = time.GetTimestamp();
        if (interactive)
        {
            if (leave)
            {
                Draw(bar.Render(time, now, lastLoss));
                writer.WriteLine();
                lineLength = 0;
                writer.Flush();
                if (Logging.ProgressLineClearer == clearForLog) Logging.ProgressLineClearer = null;
            }
            else
                ClearLine();
        }
        else if (bar.LastWrittenN != bar.N)
        {
            writer.WriteLine(bar.Render(time, now, lastLoss));
            bar.LastWrittenN = bar.N;
        }
    }

    void Draw(string line)
    {
        writer.Write('\r');
        writer.Write(line);
        if (lineLength > line.Length) writer.Write(new string(' ', lineLength - line.Length));
        lineLength = line.Length;
        writer.Flush();
        Logging.ProgressLineClearer = clearForLog;
    }

    void ClearLine()
    {
        if (lineLength == 0) return;
        writer.Write('\r');
        writer.Write(new string(' ', lineLength));
        writer.Write('\r');
        lineLength = 0;
        if (Logging.ProgressLineClearer == clearForLog) Logging.ProgressLineClearer = null;
    }

    /// <summary>Before a log message: blank the bar's line, and redraw the bar at its next update whatever the throttle.</summary>
    void ClearForLog()
    {
        if (lineLength == 0) return;
        ClearLine();
        writer.Flush();
        if (trainingBar is not null) trainingBar.LastDraw = null;
        if (predictionBar is not null) predictionBar.LastDraw = null;
    }

    /// <summary>One bar's counters.</summary>
    sealed class Bar(string prefix, int total, int start, long startTimestamp, bool withLoss)
    {
        public int Total { get; } = total;
        readonly int startN = start;
        public int N { get; set; } = start;
        public long? LastDraw { get; set; }
        public int LastBucket { get; set; } = -1;
        public int LastWrittenN { get; set; } = -1;

        public int Percent => Total > 0 ? (int)Math.Clamp(100L * N / Total, 0, 100) : 100;

        public string Render(TimeProvider time, long now, string? loss)
        {
            var elapsed = time.GetElapsedTime(startTimestamp, now).TotalSeconds;
            var filled = Total > 0 ? (int)Math.Clamp((long)BarWidth * N / Total, 0, BarWidth) : BarWidth;
            var done = N - startN;
            // A rate over less than the redraw interval is noise (one batch over microseconds reads 833333it/s): "?" until then.
            double? rate = elapsed >= MinRedrawInterval.TotalSeconds && done > 0 ? done / elapsed : null;
            var remaining = rate is { } r ? PythonRepr.Interval(Math.Max(0, Total - N) / r) : "?";
            var rateText = rate switch
            {
                null => "?it/s",
                >= 1 => PythonRepr.Fixed(rate.Value, 2) + "it/s",
                _ => PythonRepr.Fixed(1 / rate.Value, 2) + "s/it",
            };
            var postfix = withLoss && loss is not null ? ", loss=" + loss : "";
            return $"{prefix}{Percent,3}%|{new string('#', filled)}{new string('-', BarWidth - filled)}| {N}/{Total} "
                + $"[{PythonRepr.Interval(elapsed)}<{remaining}, {rateText}{postfix}]";
        }
    }
}
