using System.Collections.ObjectModel;
using TorchSharp;

namespace FineTuning.Training;

/// <summary>
/// Applies a learning-rate multiplier λ(step) (see <see cref="LrSchedules"/>) to every parameter group of a
/// TorchSharp optimizer, as torch's <c>LambdaLR</c> does: each group's learning rate is base_lr × λ(step), where
/// base_lr is the group's learning rate when the scheduler was created.
/// </summary>
/// <remarks>
/// The constructor already applies λ(0) (for the linear warmup: learning rate 0 for the first optimizer step).
/// Call <see cref="Step"/> once after every optimizer step; <see cref="LastLr"/> is then what HF's Trainer logs as
/// "learning_rate". For a checkpoint only the step count is needed (<see cref="StateDict"/>): the base learning rates
/// come from the freshly built optimizer, as in HF.
/// </remarks>
public sealed class LrScheduler
{
    readonly torch.optim.ILearningRateController[] groups;
    readonly Func<int, double> lambda;
    double[] lastLr = [];

    /// <summary>Records each group's current learning rate as its base and sets it to base × λ(0).</summary>
    /// <param name="optimizer">The optimizer whose groups' learning rates this sets.</param>
    /// <param name="lambda">The multiplier of the base learning rate at each step.</param>
    public LrScheduler(torch.optim.Optimizer optimizer, Func<int, double> lambda)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        this.lambda = lambda ?? throw new ArgumentNullException(nameof(lambda));
        groups = optimizer.ParamGroups.ToArray();
        if (groups.Length == 0) throw new ArgumentException("the optimizer has no parameter groups", nameof(optimizer));
        BaseLrs = new ReadOnlyCollection<double>(groups.Select(g => g.LearningRate).ToArray());
        foreach (var g in groups) g.InitialLearningRate = g.LearningRate; // torch's group["initial_lr"]
        CurrentStep = 0;
        Apply();
    }

    /// <summary>
    /// HF's <c>Trainer.create_scheduler</c>: the <see cref="TrainingArguments.LrSchedulerType"/> schedule with
    /// <see cref="TrainingArguments.GetWarmupSteps"/>(<paramref name="numTrainingSteps"/>) warmup steps and
    /// <see cref="TrainingArguments.LrSchedulerKwargs"/>, over <paramref name="numTrainingSteps"/> optimizer steps.
    /// </summary>
    public static LrScheduler Create(torch.optim.Optimizer optimizer, TrainingArguments args, int numTrainingSteps)
    {
        ArgumentNullException.ThrowIfNull(args);
        var lambda = LrSchedules.Get(args.LrSchedulerType, args.GetWarmupSteps(numTrainingSteps), numTrainingSteps,
            args.LrSchedulerKwargs, args.LearningRate);
        return new LrScheduler(optimizer, lambda);
    }

    /// <summary>The learning rate of each group when the scheduler was created (torch's <c>base_lrs</c>).</summary>
    public IReadOnlyList<double> BaseLrs { get; }

    /// <summary>The step the current learning rates belong to: 0 after construction, +1 per <see cref="Step"/>
    /// (torch's <c>last_epoch</c>).</summary>
    public int CurrentStep { get; private set; }

    /// <summary>The learning rate of each group as last set (torch's <c>get_last_lr()</c>).</summary>
    public IReadOnlyList<double> LastLr => Array.AsReadOnly(lastLr);

    /// <summary>Advances one step and sets every group's learning rate to base_lr × λ(step).</summary>
    public void Step()
    {
        CurrentStep++;
        Apply();
    }

    void Apply()
    {
        var factor = lambda(CurrentStep);
        lastLr = new double[groups.Length];
        for (var i = 0; i < groups.Length; i++)
        {
            lastLr[i] = BaseLrs[i] * factor;
            groups[i].LearningRate = lastLr[i];
        }
    }

    /// <summary>What a checkpoint needs to resume the schedule: the step count.</summary>
    public LrSchedulerState StateDict() => new(CurrentStep);

    /// <summary>Restores the step count of <see cref="StateDict"/> and sets the learning rates of that step.</summary>
    public void LoadStateDict(LrSchedulerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentOutOfRangeException.ThrowIfNegative(state.Step, nameof(state));
        CurrentStep = state.Step;
        Apply();
    }
}

/// <summary>The saved state of an <see cref="LrScheduler"/>: the step it had reached (torch's <c>last_epoch</c>).</summary>
/// <param name="Step">The scheduler's <see cref="LrScheduler.CurrentStep"/>.</param>
public sealed record LrSchedulerState(int Step);
