using System.Text.RegularExpressions;
using FineTuning.Training;

namespace FineTuning.Tests.Training;

public class ProgressCallbackTests
{
    static TrainingArguments Args(bool disableTqdm = false) =>
        new() { OutputDir = "out", EvalStrategy = IntervalStrategy.Epoch, LoggingSteps = 5, DisableTqdm = disableTqdm };

    static Dictionary<string, double> TrainLog(double loss, double gradNorm, double lr, double epoch) => new()
    {
        ["loss"] = loss, ["grad_norm"] = gradNorm, ["learning_rate"] = lr, ["epoch"] = epoch,
    };

    /// <summary>A run of HF's event sequence: 20 steps (2 epochs of 10) at 0.5 s each, a log every 5 steps, and an
    /// evaluation of 4 batches (0.25 s each) after epoch 1.</summary>
    static void Train(ProgressCallback cb, TrainingArguments args, FakeClock clock)
    {
        var state = new TrainerState { MaxSteps = 20, NumTrainEpochs = 2 };
        var control = new TrainerControl();
        double[] losses = [0.6931, 0.65, 0.6, 0.55];
        double[] learningRates = [3.75e-05, 2.5e-05, 1.25e-05, 0.0];
        cb.OnTrainBegin(args, state, control);
        for (var step = 1; step <= 20; step++)
        {
            clock.Advance(0.5);
            state.GlobalStep = step;
            state.Epoch = step / 10.0;
            cb.OnStepEnd(args, state, control);
            if (step % 5 == 0)
                cb.OnLog(args, state, control, TrainLog(losses[step / 5 - 1], 1.5, learningRates[step / 5 - 1], state.Epoch.Value));
            if (step == 10)
            {
                for (var batch = 0; batch < 4; batch++)
                {
                    clock.Advance(0.25);
                    cb.OnPredictionStep(args, state, control, evalBatchCount: 4);
                }
                var metrics = new Dictionary<string, double>
                {
                    ["eval_loss"] = 0.6, ["eval_accuracy"] = 0.75, ["eval_runtime"] = 1.0,
                    ["eval_samples_per_second"] = 32.0, ["eval_steps_per_second"] = 4.0, ["epoch"] = 1.0,
                };
                cb.OnLog(args, state, control, metrics);
                cb.OnEvaluate(args, state, control, metrics);
            }
        }
        cb.OnLog(args, state, control, new Dictionary<string, double>
        {
            ["train_runtime"] = 11.0, ["train_samples_per_second"] = 14.545, ["train_steps_per_second"] = 1.818,
            ["total_flos"] = 1234.0, ["train_loss"] = 0.62, ["epoch"] = 2.0,
        });
        cb.OnTrainEnd(args, state, control);
    }

    [Fact]
    public void Redirected_output_prints_a_line_every_quarter_and_each_log()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        Train(new ProgressCallback(output, interactive: false, timeProvider: clock, redirectedPercentStep: 25), Args(), clock);

        string[] expected =
        [
            "  0%|--------------------| 0/20 [00:00<?, ?it/s]",
            " 25%|#####---------------| 5/20 [00:02<00:07, 2.00it/s]",
            "{'loss': 0.6931, 'grad_norm': 1.5, 'learning_rate': 3.75e-05, 'epoch': 0.5}",
            " 50%|##########----------| 10/20 [00:05<00:05, 2.00it/s, loss=0.6931]",
            "{'loss': 0.65, 'grad_norm': 1.5, 'learning_rate': 2.5e-05, 'epoch': 1.0}",
            "Evaluating:  25%|#####---------------| 1/4 [00:00<?, ?it/s]",
            // Batches of 0.25 s: 4 it/s, measured over the batches after the first (which the bar did not see start).
            "Evaluating:  50%|##########----------| 2/4 [00:00<00:00, 4.00it/s]",
            "Evaluating:  75%|###############-----| 3/4 [00:00<00:00, 4.00it/s]",
            "Evaluating: 100%|####################| 4/4 [00:00<00:00, 4.00it/s]",
            "{'eval_loss': 0.6, 'eval_accuracy': 0.75, 'eval_runtime': 1.0, 'eval_samples_per_second': 32.0, 'eval_steps_per_second': 4.0, 'epoch': 1.0}",
            // 15 steps in 8.5 s (the evaluation's second included): 1.76 it/s, 5 steps left ≈ 2.8 s.
            " 75%|###############-----| 15/20 [00:08<00:02, 1.76it/s, loss=0.65]",
            "{'loss': 0.6, 'grad_norm': 1.5, 'learning_rate': 1.25e-05, 'epoch': 1.5}",
            "100%|####################| 20/20 [00:11<00:00, 1.82it/s, loss=0.6]",
            "{'loss': 0.55, 'grad_norm': 1.5, 'learning_rate': 0.0, 'epoch': 2.0}",
            "{'train_runtime': 11.0, 'train_samples_per_second': 14.545, 'train_steps_per_second': 1.818, 'train_loss': 0.62, 'epoch': 2.0}",
        ];
        Assert.Equal(string.Join(Environment.NewLine, expected) + Environment.NewLine, output.ToString());
    }

    [Fact]
    public void Redirected_output_defaults_to_a_line_every_ten_percent()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        Train(new ProgressCallback(output, interactive: false, timeProvider: clock), Args(), clock);
        var steps = Regex.Matches(output.ToString(), @"\| (\d+)/20 \[").Select(m => int.Parse(m.Groups[1].Value));
        // 0/20 at the start, then 2, 4, ..., 20 steps.
        Assert.Equal(Enumerable.Range(0, 11).Select(i => 2 * i), steps);
    }

    [Fact]
    public void A_stopped_run_prints_its_last_state_at_train_end()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        var cb = new ProgressCallback(output, interactive: false, timeProvider: clock, redirectedPercentStep: 50);
        var args = Args();
        var state = new TrainerState { MaxSteps = 10, NumTrainEpochs = 1 };
        cb.OnTrainBegin(args, state, new TrainerControl());
        for (var step = 1; step <= 3; step++)
        {
            clock.Advance(1);
            state.GlobalStep = step;
            cb.OnStepEnd(args, state, new TrainerControl());
        }
        cb.OnTrainEnd(args, state, new TrainerControl());
        Assert.Equal(
            "  0%|--------------------| 0/10 [00:00<?, ?it/s]" + Environment.NewLine
            + " 30%|######--------------| 3/10 [00:03<00:07, 1.00it/s]" + Environment.NewLine,
            output.ToString());
    }

    /// <summary>'\r', the new line, and blanks over what is left of a longer previous line.</summary>
    static string Redraw(string previous, string line) =>
        "\r" + line + new string(' ', Math.Max(0, previous.Length - line.Length));

    [Fact]
    public void Interactive_output_redraws_one_line_and_keeps_logs_above_it()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        var cb = new ProgressCallback(output, interactive: true, timeProvider: clock);
        var args = Args();
        var state = new TrainerState { MaxSteps = 4, NumTrainEpochs = 1 };
        var control = new TrainerControl();

        cb.OnTrainBegin(args, state, control);
        clock.Advance(2);
        state.GlobalStep = 1;
        cb.OnStepEnd(args, state, control);                 // drawn
        clock.Advance(0.04);
        state.GlobalStep = 2;
        cb.OnStepEnd(args, state, control);                 // 0.04 s after the last draw: skipped
        cb.OnLog(args, state, control, new Dictionary<string, double> { ["loss"] = 0.5, ["epoch"] = 0.5 });
        clock.Advance(1.96);
        state.GlobalStep = 4;
        cb.OnStepEnd(args, state, control);
        cb.OnTrainEnd(args, state, control);

        var start = "  0%|--------------------| 0/4 [00:00<?, ?it/s]";
        var step1 = " 25%|#####---------------| 1/4 [00:02<00:06, 2.00s/it]";        // below 1 it/s: seconds per step
        var step2 = " 50%|##########----------| 2/4 [00:02<00:02, 1.02s/it, loss=0.5]";
        var step4 = "100%|####################| 4/4 [00:04<00:00, 1.00it/s, loss=0.5]";
        var expected = "\r" + start
            + Redraw(start, step1)
            + "\r" + new string(' ', step1.Length) + "\r" + "{'loss': 0.5, 'epoch': 0.5}" + Environment.NewLine
            + "\r" + step2
            + Redraw(step2, step4)
            + Redraw(step4, step4) + Environment.NewLine;
        Assert.Equal(expected, output.ToString());
    }

    [Fact]
    public void Interactive_evaluation_bar_replaces_the_training_bar_then_gives_it_back()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        var cb = new ProgressCallback(output, interactive: true, timeProvider: clock);
        var args = Args();
        var state = new TrainerState { MaxSteps = 2, NumTrainEpochs = 1 };
        var control = new TrainerControl();

        cb.OnTrainBegin(args, state, control);
        clock.Advance(1);
        state.GlobalStep = 1;
        cb.OnStepEnd(args, state, control);
        clock.Advance(1);
        cb.OnPredictionStep(args, state, control, evalBatchCount: 1);
        cb.OnEvaluate(args, state, control, new Dictionary<string, double> { ["eval_loss"] = 0.3 });

        var start = "  0%|--------------------| 0/2 [00:00<?, ?it/s]";
        var bar = " 50%|##########----------| 1/2 [00:01<00:01, 1.00it/s]";
        var eval = "Evaluating: 100%|####################| 1/1 [00:00<?, ?it/s]";
        var barAfter = " 50%|##########----------| 1/2 [00:02<00:02, 2.00s/it]";
        var expected = "\r" + start
            + Redraw(start, bar)
            + Redraw(bar, eval)
            + "\r" + new string(' ', eval.Length) + "\r"
            + "\r" + barAfter;
        Assert.Equal(expected, output.ToString());
    }

    [Fact]
    public void Evaluation_outside_training_leaves_its_bar_and_prints_no_logs()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        var cb = new ProgressCallback(output, interactive: false, timeProvider: clock, redirectedPercentStep: 50);
        var args = Args();
        var state = new TrainerState();
        for (var i = 0; i < 3; i++)
        {
            clock.Advance(2);
            cb.OnPredictionStep(args, state, new TrainerControl(), evalBatchCount: 3);
        }
        var metrics = new Dictionary<string, double> { ["eval_loss"] = 0.3 };
        cb.OnLog(args, state, new TrainerControl(), metrics);
        cb.OnEvaluate(args, state, new TrainerControl(), metrics);
        Assert.Equal(
            "Evaluating:  33%|######--------------| 1/3 [00:00<?, ?it/s]" + Environment.NewLine
            + "Evaluating:  66%|#############-------| 2/3 [00:02<00:02, 2.00s/it]" + Environment.NewLine
            + "Evaluating: 100%|####################| 3/3 [00:04<00:00, 2.00s/it]" + Environment.NewLine,
            output.ToString());
    }

    [Fact]
    public void Without_the_number_of_batches_there_is_no_evaluation_bar()
    {
        var output = new StringWriter();
        var cb = new ProgressCallback(output, interactive: false, timeProvider: new FakeClock());
        cb.OnPredictionStep(Args(), new TrainerState(), new TrainerControl());
        cb.OnEvaluate(Args(), new TrainerState(), new TrainerControl(), new Dictionary<string, double>());
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void Disable_tqdm_prints_nothing()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        Train(new ProgressCallback(output, interactive: false, timeProvider: clock), Args(disableTqdm: true), clock);
        Assert.Equal("", output.ToString());
    }

    [Fact]
    public void Logs_are_printed_as_python_prints_the_dict()
    {
        Assert.Equal("{}", ProgressCallback.FormatLogs(new Dictionary<string, double>()));
        // HF's on_log: total_flos dropped, epoch rounded to 2 decimals (Python's round: 0.125 → 0.12, 2.675 → 2.67).
        Assert.Equal("{'loss': 0.6931, 'learning_rate': 5e-05, 'epoch': 0.12}", ProgressCallback.FormatLogs(
            new Dictionary<string, double> { ["loss"] = 0.6931, ["learning_rate"] = 5e-5, ["total_flos"] = 1e12, ["epoch"] = 0.125 }));
        Assert.Equal("{'epoch': 2.67}", ProgressCallback.FormatLogs(new Dictionary<string, double> { ["epoch"] = 2.675 }));
        Assert.Equal("{'epoch': 0.33}", ProgressCallback.FormatLogs(new Dictionary<string, double> { ["epoch"] = 1 / 3.0 }));
        Assert.Equal("{'grad_norm': nan, 'loss': inf, 'x': 1e+16, 'y': 123.0}", ProgressCallback.FormatLogs(
            new Dictionary<string, double> { ["grad_norm"] = double.NaN, ["loss"] = double.PositiveInfinity, ["x"] = 1e16, ["y"] = 123 }));
        Assert.Equal("{\"it's\": 1.0}", ProgressCallback.FormatLogs(new Dictionary<string, double> { ["it's"] = 1 }));
    }

    [Fact]
    public void No_rate_before_one_is_measured_over_a_real_interval()
    {
        // The first batch of an evaluation ends microseconds after its bar appears: one batch over 1.2 µs would read
        // 833333.33it/s. The bar shows "?" until a second batch has been timed.
        var output = new StringWriter();
        var clock = new FakeClock();
        var cb = new ProgressCallback(output, interactive: false, timeProvider: clock, redirectedPercentStep: 1);
        var state = new TrainerState();
        cb.OnPredictionStep(Args(), state, new TrainerControl(), evalBatchCount: 8);
        clock.Advance(0.0000012);
        cb.OnPredictionStep(Args(), state, new TrainerControl(), evalBatchCount: 8);
        clock.Advance(0.5);
        cb.OnPredictionStep(Args(), state, new TrainerControl(), evalBatchCount: 8);
        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("Evaluating:  12%|##------------------| 1/8 [00:00<?, ?it/s]", lines[0]);
        Assert.All(lines, l => Assert.DoesNotMatch(@"\d{4,}\.\d\dit/s", l));
        Assert.EndsWith("3/8 [00:00<00:01, 4.00it/s]", lines[2]);   // 2 batches in 0.5 s
    }

    [Fact]
    public void Redirected_output_has_no_control_characters_and_the_final_line_once()
    {
        var output = new StringWriter();
        var clock = new FakeClock();
        Train(new ProgressCallback(output, interactive: false, timeProvider: clock), Args(), clock);
        var text = output.ToString();
        Assert.DoesNotContain('\r', text.Replace(Environment.NewLine, "\n"));
        Assert.DoesNotContain('\u001b', text);
        Assert.Single(Regex.Matches(text, @"\| 20/20 \["));
    }

    /// <summary>What a terminal shows for <paramref name="written"/>: '\r' returns to the first column, text overwrites.</summary>
    static List<string> Screen(string written)
    {
        var lines = new List<System.Text.StringBuilder> { new() };
        int column = 0;
        foreach (var c in written.Replace(Environment.NewLine, "\n"))
        {
            if (c == '\r') column = 0;
            else if (c == '\n') { lines.Add(new()); column = 0; }
            else
            {
                var line = lines[^1];
                if (column < line.Length) line[column] = c; else line.Append(c);
                column++;
            }
        }
        return lines.Select(l => l.ToString().TrimEnd()).Where(l => l.Length > 0).ToList();
    }

    [Fact]
    public void On_a_terminal_log_messages_start_on_their_own_line_and_the_final_bar_is_shown_once()
    {
        // finetune writes the bar to stderr and the library's log to stdout, both on the terminal: one screen.
        var screen = new StringWriter();
        var clock = new FakeClock();
        var (writer, verbosity) = (Logging.Writer, Logging.Verbosity);
        (Logging.Writer, Logging.Verbosity) = (screen, LogLevel.Info);
        try
        {
            var cb = new ProgressCallback(screen, interactive: true, timeProvider: clock);
            var args = Args();
            var state = new TrainerState { MaxSteps = 4, NumTrainEpochs = 1 };
            var control = new TrainerControl();
            cb.OnTrainBegin(args, state, control);
            for (var step = 1; step <= 4; step++)
            {
                clock.Advance(1);
                state.GlobalStep = step;
                cb.OnStepEnd(args, state, control);
                if (step == 2) Logging.Info("Saving model checkpoint to out/checkpoint-2");
            }
            Logging.Info("The following columns in the evaluation set ... have been ignored: text.");
            for (var batch = 0; batch < 2; batch++)
            {
                clock.Advance(0.5);
                cb.OnPredictionStep(args, state, control, evalBatchCount: 2);
            }
            cb.OnEvaluate(args, state, control, new Dictionary<string, double> { ["eval_loss"] = 0.3 });
            cb.OnLog(args, state, control, new Dictionary<string, double> { ["train_runtime"] = 4.0, ["epoch"] = 1.0 });
            cb.OnTrainEnd(args, state, control);
            Logging.Info("***** train metrics *****");
        }
        finally
        {
            (Logging.Writer, Logging.Verbosity) = (writer, verbosity);
        }
        var shown = Screen(screen.ToString());
        Assert.Equal(
        [
            "Saving model checkpoint to out/checkpoint-2",
            "The following columns in the evaluation set ... have been ignored: text.",
            "{'train_runtime': 4.0, 'epoch': 1.0}",
            "100%|####################| 4/4 [00:05<00:00, 1.25s/it]",   // 4 steps in 5 s, the evaluation included
            "***** train metrics *****",
        ], shown);
    }
}
