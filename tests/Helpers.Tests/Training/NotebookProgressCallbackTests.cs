using FineTuning.Training;

namespace FineTuning.Tests.Training;

public class NotebookProgressCallbackTests
{
    static readonly TimeSpan UpdateEvery = TimeSpan.FromSeconds(0.2);

    static TrainingArguments Args(IntervalStrategy eval) => new() { OutputDir = "out", EvalStrategy = eval };

    /// <summary>HF's <c>html_progress_bar</c> with its exact whitespace.</summary>
    static string Bar(int value, int total, string label) =>
        "\n    <div>\n      \n"
        + $"      <progress value='{value}' max='{total}' style='width:300px; height:20px; vertical-align: middle;'></progress>\n"
        + $"      {label}\n    </div>\n    ";

    /// <summary>HF's <c>text_to_html_table</c>: header, then rows.</summary>
    static string Table(string[] header, params string[][] rows) =>
        "<table border=\"1\" class=\"dataframe\">\n  <thead>\n <tr style=\"text-align: left;\">\n"
        + string.Concat(header.Select(h => $"      <th>{h}</th>\n"))
        + "    </tr>\n  </thead>\n  <tbody>\n"
        + string.Concat(rows.Select(r => "    <tr>\n" + string.Concat(r.Select(c => $"      <td>{c}</td>\n")) + "    </tr>\n"))
        + "  </tbody>\n</table><p>";

    /// <summary>Drives a run as the Trainer does and records every display.</summary>
    sealed class Run
    {
        public readonly List<string> Displays = [];
        public readonly FakeClock Clock = new();
        public readonly NotebookProgressCallback Callback;
        public readonly TrainingArguments Args;
        public readonly TrainerState State;
        public readonly TrainerControl Control = new();

        public Run(TrainingArguments args, int maxSteps, int epochs)
        {
            Args = args;
            State = new TrainerState { MaxSteps = maxSteps, NumTrainEpochs = epochs };
            Callback = new NotebookProgressCallback(Displays.Add, Clock, UpdateEvery);
        }

        public string Last => Displays[^1];

        public void Begin() => Callback.OnTrainBegin(Args, State, Control);

        public void Step(double seconds, double epoch)
        {
            Clock.Advance(seconds);
            State.GlobalStep++;
            State.Epoch = epoch;
            Callback.OnStepEnd(Args, State, Control);
        }

        public void Log(double loss)
        {
            var entry = new Dictionary<string, double> { ["loss"] = loss, ["learning_rate"] = 1e-5, ["epoch"] = State.Epoch!.Value };
            State.LogHistory.Add(new Dictionary<string, double>(entry) { ["step"] = State.GlobalStep });
            Callback.OnLog(Args, State, Control, entry);
        }

        public void Evaluate(int batches, double secondsPerBatch, Dictionary<string, double> metrics)
        {
            for (var i = 0; i < batches; i++)
            {
                Clock.Advance(secondsPerBatch);
                Callback.OnPredictionStep(Args, State, Control, batches);
            }
            metrics["epoch"] = State.Epoch!.Value;
            State.LogHistory.Add(new Dictionary<string, double>(metrics) { ["step"] = State.GlobalStep });
            Callback.OnLog(Args, State, Control, metrics);
            Callback.OnEvaluate(Args, State, Control, metrics);
        }

        public void End()
        {
            var summary = new Dictionary<string, double> { ["train_runtime"] = 8.0, ["train_loss"] = 0.5, ["epoch"] = State.Epoch!.Value };
            State.LogHistory.Add(summary);
            Callback.OnLog(Args, State, Control, summary);
            Callback.OnTrainEnd(Args, State, Control);
        }
    }

    static Dictionary<string, double> Metrics(double loss, double accuracy, double? f1 = null)
    {
        var m = new Dictionary<string, double>
        {
            ["eval_loss"] = loss, ["eval_accuracy"] = accuracy,
            ["eval_runtime"] = 1.25, ["eval_samples_per_second"] = 51.2, ["eval_steps_per_second"] = 3.2,
        };
        if (f1 is { } f) m["eval_f1"] = f;
        return m;
    }

    [Fact]
    public void Epoch_strategy_table_and_bar_follow_hugging_face()
    {
        var run = new Run(Args(IntervalStrategy.Epoch), maxSteps: 6, epochs: 2);
        run.Begin();
        Assert.Empty(run.Displays);   // HF shows nothing before the first step
        run.Step(1, 1 / 3.0);
        string[] header = ["Epoch", "Training Loss", "Validation Loss"];
        // HF shows global_step + 1 (the step under way); the first update has no timing yet.
        Assert.Equal(Bar(2, 6, "[2/6 : &lt; :, Epoch 0.33/2]") + Table(header), run.Last);
        run.Step(1, 2 / 3.0);
        Assert.Equal(Bar(3, 6, "[3/6 00:01 &lt; 00:03, 1.00 it/s, Epoch 0.67/2]") + Table(header), run.Last);
        run.Step(1, 1.0);
        Assert.StartsWith(Bar(4, 6, "[4/6 00:02 &lt; 00:02, 1.00 it/s, Epoch 1/2]"), run.Last);

        // Epoch 1's evaluation: a child bar under the table, then the row (no training loss logged yet).
        run.Evaluate(2, 0.5, Metrics(0.6, 0.75, 0.8));
        var duringEvaluation = run.Displays[^2];
        Assert.EndsWith(Bar(2, 2, "[2/2 00:00]"), duringEvaluation);
        Assert.Contains(Bar(1, 2, "[1/2 : &lt; :]"), run.Displays[^3]);
        header = ["Epoch", "Training Loss", "Validation Loss", "Accuracy", "F1"];
        string[] row1 = ["1", "No log", "0.600000", "0.750000", "0.800000"];
        Assert.EndsWith(Table(header, row1), run.Last);   // the child bar is gone

        run.Step(1, 4 / 3.0);
        run.Step(1, 5 / 3.0);
        run.Step(1, 2.0);
        run.Log(0.45);
        run.Evaluate(2, 0.5, Metrics(0.5, 0.8, 0.85));
        run.End();

        // Steps at 1, 2, 3, (eval 1 s), 5, 6, 7, (eval 1 s): 7 s since the first update.
        Assert.Equal(
            Bar(6, 6, "[6/6 00:07, Epoch 2/2]")
            + Table(header, row1, ["2", "0.450000", "0.500000", "0.800000", "0.850000"]),
            run.Last);
    }

    [Fact]
    public void Steps_strategy_rows_show_the_last_logged_training_loss()
    {
        var run = new Run(Args(IntervalStrategy.Steps), maxSteps: 6, epochs: 1);
        run.Begin();
        run.Step(1, 1 / 6.0);
        run.Step(1, 2 / 6.0);
        run.Log(0.69);
        run.Evaluate(1, 0.5, Metrics(0.6, 0.7));
        run.Step(1, 3 / 6.0);
        run.Step(1, 4 / 6.0);
        run.Evaluate(1, 0.5, Metrics(0.5, 0.8));   // no log since step 2: HF shows the step-2 loss again
        run.Step(1, 5 / 6.0);
        run.Step(1, 1.0);
        run.Log(0.55);
        run.Evaluate(1, 0.5, Metrics(0.4, 0.9));
        run.End();
        Assert.EndsWith(Table(["Step", "Training Loss", "Validation Loss", "Accuracy"],
            ["2", "0.690000", "0.600000", "0.700000"],
            ["4", "0.690000", "0.500000", "0.800000"],
            ["6", "0.550000", "0.400000", "0.900000"]), run.Last);
        Assert.StartsWith(Bar(6, 6, "[6/6 00:06, Epoch 1/1]"), run.Last);   // 1 s steps and three 0.5 s evaluations after the first step
    }

    [Fact]
    public void Without_evaluation_each_training_log_is_a_row()
    {
        var run = new Run(Args(IntervalStrategy.No), maxSteps: 4, epochs: 1);
        run.Begin();
        run.Step(1, 0.25);
        run.Step(1, 0.5);
        run.Log(0.69);
        run.Step(1, 0.75);
        run.Step(1, 1.0);
        run.Log(0.55);
        run.End();   // the summary has train_loss, not loss: no row
        Assert.EndsWith(Table(["Step", "Training Loss"], ["2", "0.690000"], ["4", "0.550000"]), run.Last);
    }

    [Fact]
    public void Metric_names_are_de_prefixed_capitalized_and_escaped()
    {
        var run = new Run(Args(IntervalStrategy.Epoch), maxSteps: 2, epochs: 1);
        run.Begin();
        run.Step(1, 1.0);
        run.Evaluate(1, 0.5, new Dictionary<string, double>
        {
            ["eval_loss"] = 0.25, ["eval_matthews_correlation"] = 0.5, ["eval_MCC"] = 0.125, ["eval_a<b&c"] = 1,
            ["eval_runtime"] = 1, ["eval_samples_per_second"] = 2, ["eval_steps_per_second"] = 3,
            ["eval_jit_compilation_time"] = 4, ["total_flos"] = 5,
        });
        var html = run.Last;
        Assert.Contains(Table(["Epoch", "Training Loss", "Validation Loss", "Matthews Correlation", "Mcc", "A&lt;b&amp;c"],
            ["1", "No log", "0.250000", "0.500000", "0.125000", "1.000000"]), html);
        Assert.DoesNotContain("<b", html);
        Assert.DoesNotContain("Runtime", html);
        Assert.DoesNotContain("Flos", html);
    }

    [Fact]
    public void The_prefix_comes_from_the_loss_key()
    {
        var run = new Run(Args(IntervalStrategy.Epoch), maxSteps: 2, epochs: 1);
        run.Begin();
        run.Step(1, 1.0);
        run.Evaluate(1, 0.5, new Dictionary<string, double>
        {
            ["test_loss"] = 0.25, ["test_accuracy"] = 0.5, ["test_runtime"] = 1, ["test_samples_per_second"] = 2,
        });
        Assert.EndsWith(Table(["Epoch", "Training Loss", "Validation Loss", "Accuracy"], ["1", "No log", "0.250000", "0.500000"]),
            run.Last);
    }

    [Fact]
    public void A_column_that_appears_later_is_added_and_missing_cells_read_no_log()
    {
        var run = new Run(Args(IntervalStrategy.Epoch), maxSteps: 3, epochs: 3);
        run.Begin();
        run.Step(1, 1.0);
        run.Evaluate(1, 0.5, Metrics(0.6, 0.7));
        run.Step(1, 2.0);
        run.Evaluate(1, 0.5, Metrics(0.5, 0.8, f1: 0.75));
        run.Step(1, 3.0);
        run.Evaluate(1, 0.5, Metrics(0.4, 0.9));
        Assert.EndsWith(Table(["Epoch", "Training Loss", "Validation Loss", "Accuracy", "F1"],
            ["1", "No log", "0.600000", "0.700000"],
            ["2", "No log", "0.500000", "0.800000", "0.750000"],
            ["3", "No log", "0.400000", "0.900000", "No Log"]), run.Last);
    }

    [Fact]
    public void Updates_are_throttled_to_about_every_update_every_and_the_end_is_always_shown()
    {
        // 100 steps of 1/64 s: 5 warm-up updates, then one every int(0.2 / (1/64)) = 12 steps, as HF predicts.
        var run = new Run(Args(IntervalStrategy.No), maxSteps: 100, epochs: 1);
        run.Begin();
        var shownAt = new List<int>();
        for (var k = 1; k <= 100; k++)
        {
            var before = run.Displays.Count;
            run.Step(1 / 64.0, k / 100.0);
            if (run.Displays.Count > before) shownAt.Add(k);
        }
        // Values shown are k + 1: 2 (first), 3..7 (warm-up), 19, 31, ..., 91, then 100 (the total) and 101 (clamped).
        Assert.Equal([1, 2, 3, 4, 5, 6, 18, 30, 42, 54, 66, 78, 90, 99, 100], shownAt);
        run.Callback.OnTrainEnd(run.Args, run.State, run.Control);
        Assert.Equal(16, run.Displays.Count);
        Assert.Equal(Bar(100, 100, "[100/100 00:01, Epoch 1/1]") + Table(["Step", "Training Loss"]), run.Last);
    }

    [Fact]
    public void The_step_after_an_evaluation_is_always_shown()
    {
        var run = new Run(Args(IntervalStrategy.Steps), maxSteps: 100, epochs: 1);
        run.Begin();
        for (var k = 1; k <= 10; k++) run.Step(1 / 64.0, k / 100.0);
        var count = run.Displays.Count;
        run.Step(1 / 64.0, 0.11);
        Assert.Equal(count, run.Displays.Count);   // throttled
        run.Evaluate(1, 1 / 64.0, Metrics(0.5, 0.5));
        count = run.Displays.Count;
        run.Step(1 / 64.0, 0.12);
        Assert.Equal(count + 1, run.Displays.Count);   // forced
        run.Step(1 / 64.0, 0.13);
        Assert.Equal(count + 1, run.Displays.Count);   // throttled again
    }

    [Fact]
    public void A_prediction_after_training_shows_its_bar_under_the_training_display_then_removes_it()
    {
        var run = new Run(Args(IntervalStrategy.No), maxSteps: 1, epochs: 1);
        run.Begin();
        run.Step(1, 1.0);
        run.End();
        var training = run.Last;
        for (var i = 0; i < 2; i++)
        {
            run.Clock.Advance(1);
            run.Callback.OnPredictionStep(run.Args, run.State, run.Control, evalBatchCount: 2);
        }
        Assert.Equal(training + Bar(2, 2, "[2/2 00:01]"), run.Last);
        run.Callback.OnPredict(run.Args, run.State, run.Control, new Dictionary<string, double> { ["test_loss"] = 0.1 });
        Assert.Equal(training, run.Last);
    }

    [Fact]
    public void Disable_tqdm_displays_nothing()
    {
        var run = new Run(Args(IntervalStrategy.Epoch) with { DisableTqdm = true }, maxSteps: 2, epochs: 1);
        run.Begin();
        run.Step(1, 0.5);
        run.Step(1, 1.0);
        run.Log(0.5);
        run.Evaluate(2, 0.5, Metrics(0.5, 0.5));
        run.End();
        Assert.Empty(run.Displays);
    }
}
