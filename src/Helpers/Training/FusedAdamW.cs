using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Training;

/// <summary>
/// <c>torch.optim.AdamW(fused=True)</c>, HF's <c>optim="adamw_torch_fused"</c>: the same update as TorchSharp's
/// <see cref="AdamW"/> (torch's formula: decoupled decay, bias-corrected moments), computed by libtorch's fused kernel
/// <c>_fused_adamw_</c> — one vectorised pass over each parameter that reads the weight, gradient and both moments once
/// and writes them once, instead of about ten elementwise ops per parameter, each a full pass through memory, plus
/// two temporaries. On a CPU the update is memory-bound, so this is several times faster: for BERT on 2 cores it
/// was the largest single cost of a training step (bench/NOTES.md).
/// </summary>
/// <remarks>
/// TorchSharp binds no fused optimizer, so the kernel is called through a one-line TorchScript function. The state
/// (<see cref="AdamW.State"/>: step, exp_avg, exp_avg_sq), parameter groups, options and checkpoints are TorchSharp's
/// AdamW's, so schedulers, <see cref="Amp.GradScaler"/> and <see cref="TrainerCheckpoint"/> work unchanged, and a
/// checkpoint written with either optimizer resumes with the other. Results equal the unfused AdamW's up to float
/// rounding (the kernel computes the first moment as a lerp): the training-parity tests hold HF's tolerances.
/// </remarks>
public sealed class FusedAdamW : AdamW
{
    // Lists of tensors go in as TorchScript List[Tensor]; the function returns a tensor because TorchSharp's invoke
    // expects a value back. The trailing newline matters: TorchScript's parser fails at end of input without it.
    const string Script = """
        def adamw(params: List[Tensor], grads: List[Tensor], exp_avgs: List[Tensor], exp_avg_sqs: List[Tensor],
                  max_exp_avg_sqs: List[Tensor], steps: List[Tensor], lr: float, beta1: float, beta2: float,
                  weight_decay: float, eps: float, amsgrad: bool, maximize: bool):
            torch._fused_adamw_(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, lr=lr, beta1=beta1,
                                beta2=beta2, weight_decay=weight_decay, eps=eps, amsgrad=amsgrad, maximize=maximize)
            return steps[0]

        """;

    // Null when this libtorch cannot compile the call (a build without the fused kernel): then the unfused update runs,
    // after one warning, rather than failing a training run over an optimisation.
    static readonly Lazy<jit.CompilationUnit?> Kernel = new(() =>
    {
        try
        {
            return jit.compile(Script);
        }
        catch (Exception e)
        {
            Logging.Warning($"adamw_torch_fused: libtorch's _fused_adamw_ is not available ({e.Message.Split('\n')[0]}); using the unfused AdamW update.");
            return null;
        }
    });

    /// <summary>AdamW over <paramref name="groups"/> (see <see cref="OptimizerFactory.CreateOptimizer"/> for HF's two groups).</summary>
    public FusedAdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                      double weight_decay = 0, bool amsgrad = false, bool maximize = false)
        : base(groups, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize) { }

    /// <summary>One AdamW update of every parameter that has a gradient: one fused kernel call per group (per device
    /// and dtype within a group).</summary>
    public override Tensor step(Func<Tensor>? closure = null)
    {
        if (Kernel.Value is not { } kernel) return base.step(closure);
        Tensor? loss = null;
        if (closure is not null)
            using (enable_grad()) loss = closure();

        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var group in ParamGroups.Cast<ParamGroup>())
        {
            var o = group.Options;
            var batches = new Dictionary<(DeviceType, int, ScalarType), Batch>();
            foreach (var p in group.Parameters)
            {
                if (p.grad is not { } grad) continue;
                var state = (State)_state[p.Handle];
                state.step += 1;
                var key = (p.device_type, p.device_index, p.dtype);
                if (!batches.TryGetValue(key, out var batch)) batches[key] = batch = new Batch();
                batch.Add(p, grad, state);
            }
            foreach (var batch in batches.Values)
            {
                // The kernel reads each parameter's step count from a float32 scalar tensor on its device (torch keeps
                // them as tensors so that CUDA never syncs); ours live in AdamW.State.step, so one tensor per distinct count.
                var device = batch.Params[0].device;
                var steps = new Dictionary<long, Tensor>();
                var stepTensors = batch.Steps.Select(s => steps.TryGetValue(s, out var t) ? t
                    : steps[s] = tensor((float)s, dtype: ScalarType.Float32, device: device)).ToArray();
                var result = kernel.invoke("adamw", batch.Params.ToArray(), batch.Grads.ToArray(), batch.ExpAvgs.ToArray(),
                    batch.ExpAvgSqs.ToArray(), o.amsgrad!.Value ? batch.MaxExpAvgSqs.ToArray() : Array.Empty<Tensor>(), stepTensors,
                    o.LearningRate!.Value, o.beta1!.Value, o.beta2!.Value, o.weight_decay!.Value, o.eps!.Value, o.amsgrad.Value, o.maximize!.Value);
                (result as Tensor)?.Dispose();
            }
        }
        return loss!;
    }

    /// <summary>The tensors of one kernel call: parameters of one device and dtype, with their gradients and state.</summary>
    sealed class Batch
    {
        public readonly List<Tensor> Params = [], Grads = [], ExpAvgs = [], ExpAvgSqs = [], MaxExpAvgSqs = [];
        public readonly List<long> Steps = [];

        public void Add(Tensor p, Tensor grad, State state)
        {
            Params.Add(p);
            Grads.Add(grad);
            ExpAvgs.Add(state.exp_avg);
            ExpAvgSqs.Add(state.exp_avg_sq);
            if (state.max_exp_avg_sq is { } max) MaxExpAvgSqs.Add(max);
            Steps.Add(state.step);
        }
    }
}
