using System.Globalization;
using FineTuning.Training;

namespace FineTuning.FineTune;

/// <summary>
/// Training on a CPU: how long the run will take, from optimizer steps measured on this machine — nothing is guessed
/// before training. The first step is left out (it allocates the optimizer's state and warms libtorch up); the next
/// <see cref="MeasuredSteps"/> are timed from their start to their end (evaluations and checkpoints in between are not
/// counted), and their mean gives the rest of the run. A run too short to measure gets no estimate.
/// </summary>
/// <remarks>
/// An estimate from the model's size and the machine's matrix speed was tried first and was off by 0.4–5× (padding,
/// memory traffic, the optimizer and small batches are hard to model); a measured step is not. Evaluations are
/// estimated from the same measurement: a forward pass costs about a third of a training step's forward + backward
/// per example (2 of 6 FLOPs per parameter and token).
/// </remarks>
internal sealed class CpuTimeEstimate(int examplesPerStep, int evalExamplesPerEvaluation, int evaluations, int hiddenSize,
    TimeProvider? timeProvider = null) : TrainerCallback
{
    /// <summary>Steps timed after the first one before the estimate is printed.</summary>
    public const int MeasuredSteps = 3;

    /// <summary>Hidden size from which a model counts as base-sized (BERT-base: 768).</summary>
    public const int BaseHiddenSize = 768;

    readonly TimeProvider time = timeProvider ?? TimeProvider.System;
    int firstStep;
    long stepStart;
    TimeSpan measured;
    int stepsMeasured;
    bool done;

    /// <summary>The message printed, once; null until then (or for a run too short to measure).</summary>
    public string? Message { get; private set; }

    public override void OnTrainBegin(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        firstStep = state.GlobalStep;
        (measured, stepsMeasured, done) = (TimeSpan.Zero, 0, false);
    }

    public override void OnStepBegin(TrainingArguments args, TrainerState state, TrainerControl control) => stepStart = time.GetTimestamp();

    public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (done || state.GlobalStep - firstStep <= 1) return;   // the first step of this run warms up: not measured
        measured += time.GetElapsedTime(stepStart, time.GetTimestamp());
        if (++stepsMeasured < MeasuredSteps) return;
        done = true;
        int left = state.MaxSteps - state.GlobalStep;
        if (left <= 0) return;
        Message = Describe(measured.TotalSeconds / stepsMeasured, state.GlobalStep, state.MaxSteps, examplesPerStep,
            evalExamplesPerEvaluation, evaluations, hiddenSize);
        Logging.Info(Message);
    }

    /// <summary>The message: the measured time per step, the time left, and for a long run with a base-sized model, what
    /// would be quicker.</summary>
    public static string Describe(double secondsPerStep, int step, int maxSteps, int examplesPerStep, int evalExamplesPerEvaluation,
        int evaluations, int hiddenSize)
    {
        double training = secondsPerStep * (maxSteps - step);
        double evaluation = evaluations * evalExamplesPerEvaluation * secondsPerStep / examplesPerStep / 3;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"Training on the CPU: steps {step - MeasuredSteps + 1}–{step} took {Seconds(secondsPerStep)} each (measured), so the "
            + $"{maxSteps - step:N0} steps left take about {Duration(training)}")
            + (evaluations > 0 ? $", plus about {Duration(evaluation)} for {evaluations} evaluation{(evaluations > 1 ? "s" : "")}." : ".");
        if (hiddenSize >= BaseHiddenSize && training + evaluation > 15 * 60)
            text += "\nA base-sized model is slow on a CPU. A GPU does this in minutes; on a CPU try a smaller model such as "
                + "sentence-transformers/all-MiniLM-L6-v2 (22M parameters) or google/bert_uncased_L-4_H-256_A-4 (11M), fewer examples "
                + "(--max_train_samples) or shorter ones (--max_seq_length 64).";
        return text;
    }

    static string Seconds(double s) => s >= 10 ? Duration(s) : s.ToString(s >= 1 ? "0.0" : "0.00", CultureInfo.InvariantCulture) + " s";

    /// <summary>"40 s", "12 min", "2 h 10 min".</summary>
    public static string Duration(double seconds)
    {
        if (seconds < 59.5) return $"{Math.Max(1, (long)Math.Round(seconds, MidpointRounding.AwayFromZero))} s";
        long minutes = (long)Math.Round(seconds / 60, MidpointRounding.AwayFromZero);
        return minutes < 60 ? $"{minutes} min" : $"{minutes / 60} h {minutes % 60} min";
    }
}
