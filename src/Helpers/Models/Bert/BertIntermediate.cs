using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertIntermediate</c>: the feed-forward block's expansion, hidden → intermediate, then the activation.</summary>
public sealed class BertIntermediate : nn.Module
{
    // Typed as any Tensor → Tensor module and not readonly: PEFT swaps a Linear for a LoRA layer in place
    // (FineTuning.Peft.ModuleSurgery.SetSubmodule). The constructor still builds our Linear.
    private nn.Module<Tensor, Tensor> dense;
    private readonly Func<Tensor, Tensor> activation;

    public BertIntermediate(BertConfig config) : base(nameof(BertIntermediate))
    {
        dense = new Linear(config.HiddenSize, config.IntermediateSize);
        activation = Activations.Get(config.HiddenAct);
        RegisterComponents();
    }

    /// <param name="hiddenStates">(batch, seq, hidden)</param>
    /// <returns>(batch, seq, intermediate)</returns>
    public Tensor forward(Tensor hiddenStates) => activation(dense.forward(hiddenStates));
}
