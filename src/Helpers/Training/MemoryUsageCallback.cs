using System.Diagnostics;
using TorchSharp;

namespace FineTuning.Training;

/// <summary>
/// Records the process's resident memory and the training thread's live tensor count every
/// <paramref name="everySteps"/> optimizer steps, to show that memory stays flat over a long run (or where it does not).
/// Measures only: it never collects garbage itself.
/// </summary>
/// <param name="everySteps">How often to sample, in optimizer steps (default 100).</param>
public sealed class MemoryUsageCallback(int everySteps = 100) : TrainerCallback
{
    readonly List<MemorySample> samples = [];

    /// <summary>One sample per <c>everySteps</c> steps, in order.</summary>
    public IReadOnlyList<MemorySample> Samples => samples;

    public override void OnStepEnd(TrainingArguments args, TrainerState state, TrainerControl control)
    {
        if (everySteps > 0 && state.GlobalStep % everySteps == 0) samples.Add(MemorySample.Now(state.GlobalStep));
    }

    /// <summary>Growth of resident memory from the sample at <paramref name="fromStep"/> to the last one, as a fraction
    /// (0.05 = 5%).</summary>
    public double ResidentGrowth(int fromStep)
    {
        var from = samples.FirstOrDefault(s => s.Step == fromStep)
            ?? throw new ArgumentException($"no sample at step {fromStep} (samples at {string.Join(", ", samples.Select(s => s.Step))})", nameof(fromStep));
        return (double)(samples[^1].ResidentBytes - from.ResidentBytes) / from.ResidentBytes;
    }
}

/// <summary>A memory reading at an optimizer step.</summary>
/// <param name="Step">The optimizer step (global step) it was taken after.</param>
/// <param name="ResidentBytes">The process's resident set size.</param>
/// <param name="LiveTensors">Tensors alive on the calling thread (TorchSharp's dispose-scope statistics).</param>
public sealed record MemorySample(int Step, long ResidentBytes, long LiveTensors)
{
    /// <summary>Reads the current values.</summary>
    public static MemorySample Now(int step)
    {
        using var process = Process.GetCurrentProcess();
        return new(step, process.WorkingSet64, DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount);
    }
}
