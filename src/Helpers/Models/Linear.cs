using FineTuning.Amp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models;

/// <summary>
/// <c>torch.nn.Linear</c>: y = x·Wᵀ + b, with the same parameters (<c>weight</c> (out, in), <c>bias</c> (out)), the
/// same initialisation and random draws (Kaiming-uniform weight, uniform bias) and the same checkpoint keys as
/// TorchSharp's and PyTorch's. Ours because the forward must follow <see cref="Autocast"/> (mixed precision) and
/// TorchSharp's Linear is sealed and runs natively.
/// </summary>
public sealed class Linear : nn.Module<Tensor, Tensor>
{
    // Fields, not properties: their names are the state-dict keys, and Module.to(device) re-points them by name.
    private Parameter weight;
    private Parameter? bias;

    public Linear(long inFeatures, long outFeatures, bool hasBias = true) : base(nameof(Linear))
    {
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        // torch.nn.Linear.reset_parameters: kaiming_uniform_(a=√5) on the weight, then U(-1/√in, 1/√in) on the bias —
        // in this order, so a seeded model draws exactly what PyTorch's would.
        weight = new Parameter(empty(outFeatures, inFeatures));
        nn.init.kaiming_uniform_(weight, a: Math.Sqrt(5));
        if (hasBias)
        {
            bias = new Parameter(empty(outFeatures));
            double bound = inFeatures > 0 ? 1 / Math.Sqrt(inFeatures) : 0;
            nn.init.uniform_(bias, -bound, bound);
        }
        RegisterComponents();
    }

    // A Linear around existing parameters, with no initialisation: no random numbers drawn.
    private Linear(Parameter weight, Parameter? bias) : base(nameof(Linear))
    {
        OutFeatures = weight.shape[0];
        InFeatures = weight.shape[1];
        this.weight = weight;
        this.bias = bias;
        RegisterComponents();
    }

    /// <summary>
    /// PyTorch's <c>copy.deepcopy(linear)</c>: a new Linear with copies of this one's weight and bias (same dtype,
    /// device and requires_grad) that draws no random numbers, so the generator's stream is unchanged (PEFT's
    /// ModulesToSaveWrapper copies the classifier this way).
    /// </summary>
    public Linear DeepCopy()
    {
        using var _ = no_grad();
        return new Linear(new Parameter(weight.detach().clone(), weight.requires_grad),
                          bias is null ? null : new Parameter(bias.detach().clone(), bias.requires_grad));
    }

    /// <summary>(out, in)</summary>
    public Parameter Weight => weight;

    /// <summary>(out), or null without a bias.</summary>
    public Parameter? Bias => bias;

    public long InFeatures { get; }
    public long OutFeatures { get; }

    /// <param name="input">(..., in)</param>
    /// <returns>(..., out); in the autocast dtype inside an <see cref="Autocast"/> region.</returns>
    public override Tensor forward(Tensor input) => Autocast.Linear(input, weight, bias);
}
