using static TorchSharp.torch;

namespace FineTuning.Models.Bert;

/// <summary>HF <c>BertAttention</c>: self-attention followed by its output projection (keys <c>attention.self.*</c>, <c>attention.output.*</c>).</summary>
public sealed class BertAttention : nn.Module
{
    private readonly BertSelfAttention self;
    private readonly BertSelfOutput output;

    public BertAttention(BertConfig config) : base(nameof(BertAttention))
    {
        self = new BertSelfAttention(config);
        output = new BertSelfOutput(config);
        RegisterComponents();
    }

    public BertSelfAttention Self => self;

    /// <param name="hiddenStates">(batch, seq, hidden)</param>
    /// <param name="additiveMask">(batch, 1, 1, seq) or null.</param>
    public Tensor forward(Tensor hiddenStates, Tensor? additiveMask)
        => output.forward(self.forward(hiddenStates, additiveMask), hiddenStates);
}
