using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertPooler</c>: tanh(dense(hidden state of the first token, [CLS])).</summary>
public sealed class BertPooler : nn.Module
{
    // Typed as any Tensor → Tensor module and not readonly: PEFT swaps a Linear for a LoRA layer in place
    // (FineTuning.Peft.ModuleSurgery.SetSubmodule). The constructor still builds our Linear.
    private nn.Module<Tensor, Tensor> dense;

    public BertPooler(BertConfig config) : base(nameof(BertPooler))
    {
        dense = new Linear(config.HiddenSize, config.HiddenSize);
        RegisterComponents();
    }

    /// <param name="hiddenStates">(batch, seq, hidden)</param>
    /// <returns>(batch, hidden)</returns>
    public Tensor forward(Tensor hiddenStates) => tanh(dense.forward(hiddenStates[.., 0]));
}
