using FineTuning.FineTune;
using FineTuning.Tests.Training;
using FineTuning.Training;

namespace FineTuning.Tests.FineTune;

public class CpuTimeEstimateTests
{
    /// <summary>Runs <paramref name="stepSeconds"/> through the callback's events on a fake clock, with 100 s of
    /// evaluation between steps 2 and 3 (not training time), and returns the message it printed.</summary>
    static string? Run(int examplesPerStep, int evalExamples, int evaluations, int maxSteps, params double[] stepSeconds)
    {
        var clock = new FakeClock();
        var estimate = new CpuTimeEstimate(examplesPerStep, evalExamples, evaluations, hiddenSize: 128, clock);
        var (args, state, control) = (new TrainingArguments { OutputDir = "out" }, new TrainerState { MaxSteps = maxSteps }, new TrainerControl());
        var log = new StringWriter();
        var (writer, verbosity) = (Logging.Writer, Logging.Verbosity);
        (Logging.Writer, Logging.Verbosity) = (log, LogLevel.Info);
        try
        {
            estimate.OnTrainBegin(args, state, control);
            foreach (var seconds in stepSeconds)
            {
                estimate.OnStepBegin(args, state, control);
                clock.Advance(seconds);
                state.GlobalStep++;
                estimate.OnStepEnd(args, state, control);
                if (state.GlobalStep == 2) clock.Advance(100);
            }
        }
        finally
        {
            (Logging.Writer, Logging.Verbosity) = (writer, verbosity);
        }
        Assert.Equal(estimate.Message is null ? "" : estimate.Message + Environment.NewLine, log.ToString());
        return estimate.Message;
    }

    [Fact]
    public void The_estimate_comes_from_measured_steps_after_the_first()
    {
        // Step 1 (warm-up) takes 30 s and is left out; steps 2-4 take 2 s each; the 100 s evaluation is not a step.
        var message = Run(8, 408, 3, 1377, 30, 2, 2, 2, 2, 2);
        Assert.Equal("Training on the CPU: steps 2–4 took 2.0 s each (measured), so the 1,373 steps left take about 46 min, "
            + "plus about 2 min for 3 evaluations.", message);   // 408 examples / 8 per step × 2 s / 3 = 34 s per evaluation
    }

    [Fact]
    public void A_run_too_short_to_measure_gets_no_estimate()
    {
        Assert.Null(Run(8, 0, 0, 4, 1, 1, 1, 1));   // measured at step 4: nothing left
        Assert.Null(Run(8, 0, 0, 3, 1, 1, 1));
    }

    [Fact]
    public void A_long_run_of_a_base_sized_model_gets_a_smaller_model_suggested()
    {
        var text = CpuTimeEstimate.Describe(10, 4, 1377, 8, 408, 3, hiddenSize: 768);
        Assert.StartsWith("Training on the CPU: steps 2–4 took 10 s each (measured), so the 1,373 steps left take about 3 h 49 min", text);
        Assert.Contains("smaller model such as sentence-transformers/all-MiniLM-L6-v2", text);
        Assert.DoesNotContain("smaller model", CpuTimeEstimate.Describe(10, 4, 1377, 8, 408, 3, hiddenSize: 384));
        Assert.DoesNotContain("smaller model", CpuTimeEstimate.Describe(0.1, 4, 100, 8, 408, 3, hiddenSize: 768));   // short anyway
    }

    [Theory]
    [InlineData(0.2, "1 s")]
    [InlineData(59, "59 s")]
    [InlineData(600, "10 min")]
    [InlineData(7850, "2 h 11 min")]
    [InlineData(7190, "2 h 0 min")]
    public void Durations_read_naturally(double seconds, string expected) => Assert.Equal(expected, CpuTimeEstimate.Duration(seconds));
}
