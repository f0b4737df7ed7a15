using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertLayer</c>: one transformer block, attention then feed-forward, each with residual + LayerNorm.</summary>
public sealed class BertLayer : nn.Module
{
    private readonly BertAttention attention;
    private readonly BertIntermediate intermediate;
    private readonly BertOutput output;

    public BertLayer(BertConfig config) : base(nameof(BertLayer))
    {
        attention = new BertAttention(config);
        intermediate = new BertIntermediate(config);
        output = new BertOutput(config);
        RegisterComponents();
    }

    public BertAttention Attention => attention;

    /// <param name="hiddenStates">(batch, seq, hidden)</param>
    /// <param name="additiveMask">(batch, 1, 1, seq) or null.</param>
    /// <returns>(batch, seq, hidden)</returns>
    public Tensor forward(Tensor hiddenStates, Tensor? additiveMask)
    {
        var attentionOutput = attention.forward(hiddenStates, additiveMask);
        return output.forward(intermediate.forward(attentionOutput), attentionOutput);
    }
}
