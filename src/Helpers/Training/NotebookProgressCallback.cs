using System.Globalization;
using System.Net;

namespace FineTuning.Training;

/// <summary>
/// HF <c>NotebookProgressCallback</c>: training progress as an HTML fragment for a notebook output cell, a
/// <c>&lt;progress&gt;</c> bar labelled <c>[ 38/120 00:12 &lt; 00:27, 3.05 it/s, Epoch 0.92/3]</c> above a table with
/// one row per evaluation (<c>Epoch | Training Loss | Validation Loss | Accuracy | F1</c>, or <c>Step | ...</c>), and
/// an evaluation bar under the table while evaluating.
/// </summary>
/// <remarks>
/// <para>The library knows nothing of the notebook kernel: every change calls the <c>display</c> action with the
/// complete HTML, and the notebook passes an action that replaces one output in place (in the lessons:
/// <c>new NotebookProgressCallback(LiveHtmlOutput())</c>, from notebooks/setup.dib). Not <c>display(...)</c> followed by
/// <c>Update(...)</c>: .NET Interactive 1.0.712001 sends the update under another value id than the display, so the
/// displayed placeholder would stay on screen beside the live table; a handle that is only ever updated shows once.</para>
/// <para>It follows HF's <c>utils/notebook.py</c>: the first column is Epoch when <see cref="TrainingArguments.EvalStrategy"/>
/// is Epoch and Step otherwise; "Validation Loss" only with an evaluation strategy; with none, a row per training log
/// (Step, Training Loss). An evaluation row shows the last training loss logged so far in
/// <see cref="TrainerState.LogHistory"/> ("No log" before the first), the evaluation loss as Validation Loss, and each
/// other metric without its prefix, words capitalized (eval_accuracy → Accuracy, eval_f1 → F1, eval_matthews_correlation
/// → Matthews Correlation); total_flos, epoch and the prefix's runtime, samples_per_second, steps_per_second and
/// jit_compilation_time are left out. Columns that first appear in a later row are added to the header, and earlier
/// rows keep their shorter length; a cell a new row lacks reads "No Log" (HF's spelling there). A row for the same
/// epoch / step as the last one updates it. Numbers are written with 6 decimals.</para>
/// <para>As HF, the bar shows <see cref="TrainerState.GlobalStep"/> + 1 during training (the step under way) and the
/// final step at the end, and it redraws only when about <c>updateEvery</c> has passed, predicted from the average
/// time per step (always for the first 5 updates, after an evaluation, and at the end).</para>
/// <para>Differences from HF, all cosmetic: everything that comes from data (metric names, values, labels) is
/// HTML-escaped; the <c>&lt;progress&gt;</c> value never exceeds its maximum; an evaluation or prediction outside
/// training shows its bar under the last training display instead of in a new output, and a later evaluation starts
/// a new bar. Does nothing when <see cref="TrainingArguments.DisableTqdm"/> is set.</para>
/// </remarks>
public sealed class NotebookProgressCallback : TrainerCallback
{
    const int BarWidthPixels = 300;
    const int WarmupUpdates = 5;

    readonly Action<string> display;
    readonly TimeProvider time;
    readonly double updateEverySeconds;

    TrainingTracker? trainingTracker;
    ProgressBar? predictionBar;
    bool forceNextUpdate;
    string firstColumn = "Step";
    string trainingHtml = "";   // the training display, kept under a later standalone evaluation bar

    /// <summary>Creates the callback.</summary>
    /// <param name="display">Called with the full, updated HTML each time the display changes (an empty string
    /// clears it); it should replace the content of one notebook output.</param>
    /// <param name="timeProvider">The clock for elapsed time, rates and update throttling; default
    /// <see cref="TimeProvider.System"/>. Tests pass a fake one.</param>
    /// <param name="updateEvery">About how often to redraw during training: default 0.2 s, or 0.5 s when the
    /// VSCODE_PID environment variable is set (VS Code renders HTML slowly), as HF.</param>
    public NotebookProgressCallback(Action<string> display, TimeProvider? timeProvider = null, TimeSpan? updateEvery = null)
    {
        ArgumentNullException.ThrowIfNull(display);
        if (updateEvery is { } u && !(u > TimeSpan.Zero))
            throw new ArgumentOutOfRangeException(nameof(updateEvery), u, "updateEvery must be positive");
        this.display = display;
        time = timeProvider ?? TimeProvider.System;
        updateEverySeconds = updateEvery?.TotalSeconds
            ?? (Environment.GetEnvironmentVariable("VSCODE_PID") is not null ? 0.5 : 0.2);
    }

    double Now() => time.GetTimestamp() / (double)time.TimestampFrequency;

    /// <summary>Starts the display: a bar of <see cref="TrainerState.MaxSteps"/> steps and the table header (shown
    /// with the first step).</summary>
    public override void OnTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (args.DisableTqdm) return;
        firstColumn = args.EvalStrategy == IntervalStrategy.Epoch ? "Epoch" : "Step";
        List<string> columns = [firstColumn, "Training Loss"];
        if (args.EvalStrategy != IntervalStrategy.No) columns.Add("Validation Loss");
        trainingTracker = new TrainingTracker(this, state.MaxSteps, columns);
        predictionBar = null;
        forceNextUpdate = false;
    }

    /// <summary>Moves the bar (throttled), with "Epoch e/n" as its comment.</summary>
    public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (args.DisableTqdm || trainingTracker is null) return;
        var epoch = state.Epoch ?? 0;
        var epochText = Math.Truncate(epoch) == epoch ? ((long)epoch).ToString(CultureInfo.InvariantCulture) : PythonRepr.Fixed(epoch, 2);
        trainingTracker.Update(state.GlobalStep + 1, forceNextUpdate, $"Epoch {epochText}/{state.NumTrainEpochs}");
        forceNextUpdate = false;
    }

    /// <summary>Advances the evaluation bar (under the table during training); nothing when
    /// <paramref name="evalBatchCount"/> is null.</summary>
    public override void OnPredictionStep(TrainingArguments args, TrainerState state, TrainerControl control,
                                          int? evalBatchCount = null)
    {
        if (args.DisableTqdm || evalBatchCount is not { } total) return;
        if (predictionBar is null)
        {
            predictionBar = trainingTracker is not null ? trainingTracker.AddChild(total) : new ProgressBar(this, total, null);
            predictionBar.Update(1);
        }
        else
            predictionBar.Update((predictionBar.Value ?? 0) + 1);
    }

    /// <summary>Closes a standalone prediction bar (or the one under the table).</summary>
    public override void OnPredict(TrainingArguments args, TrainerState state, TrainerControl control,
                                   IReadOnlyDictionary<string, double> metrics)
    {
        if (args.DisableTqdm) return;
        if (trainingTracker is not null) trainingTracker.RemoveChild();
        else predictionBar?.Close();
        predictionBar = null;
    }

    /// <summary>Without an evaluation strategy, adds a row (Step, Training Loss) for each training log.</summary>
    public override void OnLog(TrainingArguments args, TrainerState state, TrainerControl control,
                               IReadOnlyDictionary<string, double> logs)
    {
        if (args.DisableTqdm || trainingTracker is null) return;
        if (args.EvalStrategy == IntervalStrategy.No && logs.TryGetValue("loss", out var loss))
        {
            var values = new OrderedDictionary<string, object>(StringComparer.Ordinal)
            {
                ["Training Loss"] = loss,
                ["Step"] = state.GlobalStep,
            };
            trainingTracker.WriteLine(values);
        }
    }

    /// <summary>During training, adds the evaluation's row to the table and removes the evaluation bar; the next
    /// step redraws the bar whatever the throttling.</summary>
    public override void OnEvaluate(TrainingArguments args, TrainerState state, TrainerControl control,
                                    IReadOnlyDictionary<string, double> metrics)
    {
        if (args.DisableTqdm) return;
        if (trainingTracker is null)
        {
            // Outside training the bar stays on screen (HF's leave=True); the next evaluation gets a new one.
            predictionBar = null;
            return;
        }
        var values = new OrderedDictionary<string, object>(StringComparer.Ordinal)
        {
            ["Training Loss"] = "No log",
            ["Validation Loss"] = "No log",
        };
        for (var i = state.LogHistory.Count - 1; i >= 0; i--)
        {
            if (state.LogHistory[i].TryGetValue("loss", out var loss))
            {
                values["Training Loss"] = loss;
                break;
            }
        }
        if (firstColumn == "Epoch") values["Epoch"] = (int)(state.Epoch ?? 0);
        else values["Step"] = state.GlobalStep;

        var prefix = "eval";
        foreach (var key in metrics.Keys)
            if (key.EndsWith("_loss", StringComparison.Ordinal)) prefix = key[..^"_loss".Length];
        string[] dropped = ["total_flos", "epoch", $"{prefix}_runtime", $"{prefix}_samples_per_second",
                            $"{prefix}_steps_per_second", $"{prefix}_jit_compilation_time"];
        foreach (var (key, value) in metrics)
        {
            if (dropped.Contains(key)) continue;
            var name = string.Join(" ", key.Split('_').Skip(1).Select(Capitalize));
            if (name == "Loss") name = "Validation Loss";   // one evaluation set
            values[name] = value;
        }
        trainingTracker.WriteLine(values);
        trainingTracker.RemoveChild();
        predictionBar = null;
        // Evaluation takes a while: the next step's update is forced.
        forceNextUpdate = true;
    }

    /// <summary>Shows the final state (forced) and ends the training display.</summary>
    public override void OnTrainEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (args.DisableTqdm || trainingTracker is null) return;
        trainingTracker.Update(state.GlobalStep, forceUpdate: true,
            comment: $"Epoch {(long)(state.Epoch ?? 0)}/{state.NumTrainEpochs}");
        trainingHtml = trainingTracker.HtmlCode;
        trainingTracker = null;
        predictionBar = null;
    }

    /// <summary>Python <c>str.capitalize()</c>: first character upper case, the rest lower case.</summary>
    static string Capitalize(string part) =>
        part.Length == 0 ? part : char.ToUpperInvariant(part[0]) + part[1..].ToLowerInvariant();

    static string Escape(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A table cell as HF writes it (floats with 6 decimals), escaped.</summary>
    static string Cell(object value) => Escape(value switch
    {
        double d => PythonRepr.Fixed(d, 6),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    });

    /// <summary>HF's <c>html_progress_bar</c>.</summary>
    static string HtmlProgressBar(int value, int total, string prefix, string label) =>
        "\n    <div>\n      " + Escape(prefix)
        + $"\n      <progress value='{value}' max='{total}' style='width:{BarWidthPixels}px; height:20px; vertical-align: middle;'></progress>\n      "
        + Escape(label) + "\n    </div>\n    ";

    /// <summary>HF's <c>text_to_html_table</c>: the first row is the header.</summary>
    static string HtmlTable(List<List<object>> items)
    {
        var html = new System.Text.StringBuilder("<table border=\"1\" class=\"dataframe\">\n");
        html.Append("  <thead>\n <tr style=\"text-align: left;\">\n");
        foreach (var name in items[0]) html.Append("      <th>").Append(Cell(name)).Append("</th>\n");
        html.Append("    </tr>\n  </thead>\n  <tbody>\n");
        foreach (var line in items.Skip(1))
        {
            html.Append("    <tr>\n");
            foreach (var element in line) html.Append("      <td>").Append(Cell(element)).Append("</td>\n");
            html.Append("    </tr>\n");
        }
        html.Append("  </tbody>\n</table><p>");
        return html.ToString();
    }

    /// <summary>Sends the complete HTML to the notebook.</summary>
    void Emit(string html) => display(html);

    /// <summary>HF's <c>NotebookProgressBar</c>: a bar that redraws when the value it predicted for "updateEvery
    /// from now" is reached.</summary>
    class ProgressBar(NotebookProgressCallback owner, int total, TrainingTracker? parent)
    {
        protected readonly NotebookProgressCallback Owner = owner;
        public int Total { get; } = total;
        public int? Value { get; private set; }
        public string HtmlCode { get; protected set; } = "";
        protected string Label { get; private set; } = "";

        int? lastValue;
        string? comment;
        double startTime;
        int startValue;
        double? elapsedTime, predictedRemaining, averageTimePerItem;
        int firstCalls;
        int waitFor;
        bool shown;

        public void Update(int value, bool forceUpdate = false, string? comment = null)
        {
            Value = value;
            if (comment is not null) this.comment = comment;
            if (lastValue is not { } last)
            {
                startTime = Owner.Now();
                startValue = value;
                lastValue = value;
                elapsedTime = predictedRemaining = null;
                firstCalls = WarmupUpdates;
                waitFor = 1;
                UpdateBar(value);
            }
            else if (value <= last && !forceUpdate)
                return;
            else if (forceUpdate || firstCalls > 0 || value >= Math.Min(last + waitFor, Total))
            {
                if (firstCalls > 0) firstCalls--;
                var currentTime = Owner.Now();
                elapsedTime = currentTime - startTime;
                // Update may be called twice with the start value.
                averageTimePerItem = value > startValue ? elapsedTime / (value - startValue) : null;
                if (value >= Total)
                {
                    value = Total;
                    predictedRemaining = null;
                }
                else if (averageTimePerItem is { } average)
                    predictedRemaining = average * (Total - value);
                UpdateBar(value);
                lastValue = value;
                waitFor = averageTimePerItem is { } a && a != 0 ? Math.Max((int)(Owner.updateEverySeconds / a), 1) : 1;
            }
        }

        void UpdateBar(int value)
        {
            var totalText = Total.ToString(CultureInfo.InvariantCulture);
            var spacedValue = value.ToString(CultureInfo.InvariantCulture).PadLeft(totalText.Length);
            string label;
            if (elapsedTime is not { } elapsed)
                label = $"[{spacedValue}/{totalText} : < :";
            else if (predictedRemaining is not { } remaining)
                label = $"[{spacedValue}/{totalText} {PythonRepr.Interval(elapsed)}";
            else
            {
                label = $"[{spacedValue}/{totalText} {PythonRepr.Interval(elapsed)} < {PythonRepr.Interval(remaining)}";
                label += averageTimePerItem == 0 ? ", +inf it/s" : $", {PythonRepr.Fixed(1 / averageTimePerItem!.Value, 2)} it/s";
            }
            label += string.IsNullOrEmpty(comment) ? "]" : $", {comment}]";
            Label = label;
            Display();
        }

        protected string BarHtml() => HtmlProgressBar(Math.Min(Value ?? 0, Total), Total, "", Label);

        public virtual void Display()
        {
            HtmlCode = BarHtml();
            if (parent is not null)
            {
                // A child bar: the tracker draws it.
                parent.Display();
                return;
            }
            shown = true;
            Owner.Emit(Owner.trainingHtml + HtmlCode);
        }

        /// <summary>Removes a standalone bar from the display.</summary>
        public void Close()
        {
            if (parent is null && shown) Owner.Emit(Owner.trainingHtml);
        }
    }

    /// <summary>HF's <c>NotebookTrainingTracker</c>: the training bar, the metrics table and a child bar.</summary>
    sealed class TrainingTracker(NotebookProgressCallback owner, int numSteps, List<string> columnNames)
        : ProgressBar(owner, numSteps, null)
    {
        readonly List<List<object>> innerTable = [columnNames.Cast<object>().ToList()];
        ProgressBar? childBar;

        public override void Display()
        {
            var html = BarHtml() + HtmlTable(innerTable);
            if (childBar is not null) html += childBar.HtmlCode;
            HtmlCode = html;
            Owner.Emit(html);
        }

        /// <summary>HF's <c>write_line</c>: a new row, or an update of the last one when its first column matches.</summary>
        public void WriteLine(OrderedDictionary<string, object> values)
        {
            var columns = innerTable[0];
            foreach (var key in values.Keys)
                if (!columns.Contains(key)) columns.Add(key);
            if (innerTable.Count > 1)
            {
                var lastValues = innerTable[^1];
                var firstColumnName = (string)columns[0];
                if (!values.TryGetValue(firstColumnName, out var first) || !Equals(lastValues[0], first))
                    innerTable.Add(columns.Select(c => values.TryGetValue((string)c, out var v) ? v : "No Log").ToList());
                else
                    innerTable[^1] = columns.Select((c, i) => values.TryGetValue((string)c, out var v) ? v
                        : i < lastValues.Count ? lastValues[i] : "No Log").ToList();
            }
            else
                innerTable.Add(columns.Select(c => values.TryGetValue((string)c, out var v) ? v : "No Log").ToList());
        }

        public ProgressBar AddChild(int total)
        {
            childBar = new ProgressBar(Owner, total, this);
            return childBar;
        }

        public void RemoveChild()
        {
            childBar = null;
            Display();
        }
    }
}
