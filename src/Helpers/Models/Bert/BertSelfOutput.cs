using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertSelfOutput</c>: project the attention context, dropout, residual add, LayerNorm.</summary>
public sealed class BertSelfOutput : nn.Module
{
    // Typed as any Tensor → Tensor module and not readonly: PEFT swaps a Linear for a LoRA layer in place
    // (FineTuning.Peft.ModuleSurgery.SetSubmodule). The constructor still builds our Linear.
    private nn.Module<Tensor, Tensor> dense;
    private readonly LayerNorm LayerNorm; // HF's checkpoint name
    private readonly Dropout dropout;

    public BertSelfOutput(BertConfig config) : base(nameof(BertSelfOutput))
    {
        dense = new Linear(config.HiddenSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <param name="hiddenStates">(batch, seq, hidden) attention context.</param>
    /// <param name="inputTensor">(batch, seq, hidden) the attention block's input (residual).</param>
    public Tensor forward(Tensor hiddenStates, Tensor inputTensor)
        => LayerNorm.forward(dropout.forward(dense.forward(hiddenStates)) + inputTensor);
}
