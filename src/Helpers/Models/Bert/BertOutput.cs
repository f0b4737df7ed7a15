using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertOutput</c>: the feed-forward block's projection back, intermediate → hidden, dropout, residual, LayerNorm.</summary>
public sealed class BertOutput : nn.Module
{
    // Typed as any Tensor → Tensor module and not readonly: PEFT swaps a Linear for a LoRA layer in place
    // (FineTuning.Peft.ModuleSurgery.SetSubmodule). The constructor still builds our Linear.
    private nn.Module<Tensor, Tensor> dense;
    private readonly LayerNorm LayerNorm; // HF's checkpoint name
    private readonly Dropout dropout;

    public BertOutput(BertConfig config) : base(nameof(BertOutput))
    {
        dense = new Linear(config.IntermediateSize, config.HiddenSize);
        LayerNorm = nn.LayerNorm(config.HiddenSize, eps: config.LayerNormEps);
        dropout = nn.Dropout(config.HiddenDropoutProb);
        RegisterComponents();
    }

    /// <param name="hiddenStates">(batch, seq, intermediate)</param>
    /// <param name="inputTensor">(batch, seq, hidden) the feed-forward block's input (residual).</param>
    public Tensor forward(Tensor hiddenStates, Tensor inputTensor)
        => LayerNorm.forward(dropout.forward(dense.forward(hiddenStates)) + inputTensor);
}
